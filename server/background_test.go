package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/store"
)

// TestBackgroundProbing: a create is probed soon after, without anyone asking; a PATCH of
// the URL is probed again.
func TestBackgroundProbing(t *testing.T) {
	// The app's own runner, as serve --probe-on-write builds it.
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{ProbeOnWrite: true, ProbeWorkers: 2,
		Probe: probe.Options{AllowPrivate: true, Timeout: 5 * time.Second}})
	c := env.Client(t, env.KeyA)
	ctx := context.Background()
	created, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "bg", Slug: "bg", Url: apitest.MCPServer(t, 2)})
	if err != nil {
		t.Fatal(err)
	}
	waitHealth := func(want string, tools int) *client.MCPServer {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			s, err := c.GetServer(ctx, "bg")
			if err == nil && s.Health != nil && string(s.Health.Status) == want && s.Health.ToolCount == tools {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("health never became %s/%d: %+v %v", want, tools, s, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	s := waitHealth("ok", 2)
	if s.UpdatedAt != created.UpdatedAt {
		t.Fatal("a background probe changed updatedAt")
	}
	if _, err := c.UpdateServer(ctx, "bg", client.UpdateMCPServer{Url: ptr(apitest.MCPServer(t, 5))}); err != nil {
		t.Fatal(err)
	}
	waitHealth("ok", 5)
}

// TestAPIResponsiveWhileProbesHang: 50 probes hang on a server that never answers; the
// workers are busy, and the API answers all the same.
func TestAPIResponsiveWhileProbesHang(t *testing.T) {
	var inflight, seen atomic.Int32
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inflight.Add(1)
		seen.Add(1)
		defer inflight.Add(-1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)

	st := apitest.OpenSQLite(t)
	// The probes hang for the whole test (their timeout is far past it): a request that
	// waited for a worker would wait past the client's deadline below.
	runner := probe.NewRunner(st, probe.New(probe.Options{AllowPrivate: true, Timeout: time.Hour}), probe.RunnerOptions{Workers: 4})
	runner.Start()
	defer runner.Stop()
	env := apitest.Start(t, st, app.Config{Probes: runner})
	c := env.Client(t, env.KeyA)
	ctx := context.Background()
	for i := range 50 {
		if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "h", Slug: fmt.Sprintf("h%02d", i), Url: hang.URL + "/mcp"}); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); inflight.Load() < 4; {
		if time.Now().After(deadline) {
			t.Fatalf("the workers never got busy (%d in flight)", inflight.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Every worker is stuck; the API still answers every request, within a client timeout
	// that only a loaded machine, never a hung probe, comes near.
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for i := range 20 {
		if _, err := c.GetServer(rctx, fmt.Sprintf("h%02d", i)); err != nil {
			t.Fatalf("GET while probes hang: %v", err)
		}
	}
	if _, err := c.CreateServer(rctx, client.CreateMCPServer{Name: "x", Slug: "during", Url: "https://x.example.com"}); err != nil {
		t.Fatalf("create while probes hang: %v", err)
	}
	if n := inflight.Load(); n > 4 {
		t.Fatalf("%d probes at once with 4 workers", n)
	}
}

// TestPeriodicProbing: a server nobody enqueued (written straight to the store) is probed by
// the periodic pass, which claims it in the store.
func TestPeriodicProbing(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{ProbeWorkers: 1, ProbeInterval: time.Hour / 360,
		Probe: probe.Options{AllowPrivate: true, Timeout: 5 * time.Second}})
	if _, err := env.Store.CreateMCPServer(context.Background(), env.AppA, store.NewMCPServer{Slug: "quiet", Name: "q", URL: apitest.MCPServer(t, 1)}); err != nil {
		t.Fatal(err)
	}
	c := env.Client(t, env.KeyA)
	for deadline := time.Now().Add(20 * time.Second); ; {
		s, err := c.GetServer(context.Background(), "quiet")
		if err == nil && s.Health != nil && s.Health.Status == "ok" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never probed: %+v %v", s, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
