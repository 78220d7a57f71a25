package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/httpx"
)

// TestProbeTotalBound: a server that answers 60 tools/list pages of one 3 MB tool each gets
// one probe that reads, keeps and serves at most the probe's bound (4 MiB), says it
// truncated the tools, and allocates a bounded amount on the way.
func TestProbeTotalBound(t *testing.T) {
	desc := strings.Repeat("x", 3<<20)
	up := newHostileMCP(t, 60, func(i int, w io.Writer) {
		fmt.Fprintf(w, `[{"name":"tool_%d","inputSchema":{"type":"object"},"description":"`, i)
		io.WriteString(w, desc)
		io.WriteString(w, `"}]`)
	})
	st := apitest.OpenSQLite(t)
	env := apitest.Start(t, st, app.Config{Prober: probe.New(probe.Options{AllowPrivate: true, Timeout: 20 * time.Second})})
	c := env.Gen(t, env.KeyA)
	ctx := context.Background()
	if cr, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{Name: "H", Slug: "hostile", Url: up.URL}); cr.StatusCode() != http.StatusCreated {
		t.Fatalf("create: %s", cr.Body)
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	pr, err := c.McpServersControllerProbeMcpServerWithResponse(ctx, "hostile")
	runtime.ReadMemStats(&after)
	if err != nil || pr.StatusCode() != http.StatusOK {
		t.Fatalf("probe: %v %s", err, pr.Body)
	}
	r := pr.JSON200
	if r.Status != "ok" || r.ToolCount != 1 || r.ToolsTruncated == nil || !*r.ToolsTruncated || r.ToolsTruncatedReason == nil || *r.ToolsTruncatedReason != gen.MaxBytes {
		t.Fatalf("probe result: %.500s", pr.Body)
	}
	if n := up.Pages.Load(); n > 3 {
		t.Errorf("the probe asked for %d pages past its bound", n)
	}
	// Everything allocated meanwhile, an upper bound of what was held: a small multiple of
	// the 4 MiB bound (the race detector's builds allocate more), where reading every page
	// made the serve process hold 786 MB.
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("the probe allocated %d MiB", alloc>>20)
	if alloc > 128<<20 {
		t.Errorf("one probe allocated %d MiB", alloc>>20)
	}
	rec, err := st.GetProbe(ctx, env.AppA, "hostile")
	if err != nil || len(rec.Tools) > 4<<20 || rec.ToolCount != 1 {
		t.Fatalf("stored %d bytes of %d tools: %v", len(rec.Tools), rec.ToolCount, err)
	}
	tr, _ := c.McpServersControllerGetMcpServerToolsWithResponse(ctx, "hostile")
	if tr.StatusCode() != http.StatusOK || len(tr.Body) > 4<<20+1024 || len(tr.JSON200.Tools) != 1 || tr.JSON200.Tools[0].Name != "tool_0" {
		t.Fatalf("tools: %d, %d bytes", tr.StatusCode(), len(tr.Body))
	}

	// Many small tools: the count bound is the one that cuts.
	many := newHostileMCP(t, 3, func(i int, w io.Writer) {
		io.WriteString(w, "[")
		for j := range 600 {
			if j > 0 {
				io.WriteString(w, ",")
			}
			fmt.Fprintf(w, `{"name":"t_%d_%d","inputSchema":{"type":"object"}}`, i, j)
		}
		io.WriteString(w, "]")
	})
	if cr, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{Name: "M", Slug: "many", Url: many.URL}); cr.StatusCode() != http.StatusCreated {
		t.Fatalf("create: %s", cr.Body)
	}
	pm, _ := c.McpServersControllerProbeMcpServerWithResponse(ctx, "many")
	if r := pm.JSON200; r == nil || r.ToolCount != 1000 || r.ToolsTruncatedReason == nil || *r.ToolsTruncatedReason != gen.MaxTools {
		t.Fatalf("many tools: %.300s", pm.Body)
	}
}

// TestManualProbeBound: POST …/probe shares the background workers' bound — past it, in
// all or for the app, 429 ERR_RATE_LIMITED with Retry-After, and nothing is probed.
func TestManualProbeBound(t *testing.T) {
	var hits atomic.Int32
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	var once atomic.Bool
	unblock := func() {
		if once.CompareAndSwap(false, true) {
			close(release)
		}
	}
	defer unblock()

	st := apitest.OpenSQLite(t)
	slots := probe.NewSlots(2, 1)
	prober := probe.New(probe.Options{AllowPrivate: true, Timeout: 20 * time.Second})
	runner := probe.NewRunner(st, prober, probe.RunnerOptions{Workers: 2, Slots: slots})
	runner.Start()
	defer runner.Stop()
	env := apitest.Start(t, st, app.Config{Prober: prober, Probes: runner, ProbeSlots: slots})
	ca, cb := env.Client(t, env.KeyA), env.Client(t, env.KeyB)
	ctx := context.Background()
	// A create is probed in the background: app A's one slot is taken.
	seedURL(t, ca, "a1", hang.URL+"/mcp")
	waitFor(t, func() bool { return hits.Load() >= 1 })
	const probePath = "/ai-agents/agent-builder/mcp-servers/a1/probe"
	resp := rawResp(t, env, http.MethodPost, probePath, env.KeyA)
	if e := wantError(t, resp.StatusCode, resp.body, http.StatusTooManyRequests, httpx.CodeRateLimited); e.Message == "" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the app's bound: %v %s", resp.Header, resp.body)
	}
	// App B may still probe: the second slot.
	seedURL(t, cb, "b1", hang.URL+"/mcp")
	waitFor(t, func() bool { return hits.Load() >= 2 })
	// Both slots are taken: app B's manual probe is refused too.
	resp = rawResp(t, env, http.MethodPost, probePath[:len(probePath)-len("a1/probe")]+"b1/probe", env.KeyB)
	wantError(t, resp.StatusCode, resp.body, http.StatusTooManyRequests, httpx.CodeRateLimited)
	if hits.Load() != 2 {
		t.Fatalf("a refused probe reached the server (%d hits)", hits.Load())
	}
	unblock()
	waitFor(t, func() bool { return slots.Running() == 0 })
	if _, err := ca.ProbeServer(ctx, "a1"); err != nil {
		t.Fatalf("a probe after the slots freed: %v", err)
	}
}

type rawResponse struct {
	*http.Response
	body []byte
}

func rawResp(t *testing.T, env *apitest.Env, method, path, key string) rawResponse {
	t.Helper()
	req, _ := http.NewRequest(method, env.URL+path, nil)
	req.Header.Set("apikey", key)
	resp, err := env.Doer.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{resp, b}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func seedURL(t *testing.T, c *client.Client, slug, url string) {
	t.Helper()
	if _, err := c.CreateServer(context.Background(), client.CreateMCPServer{Name: "S " + slug, Slug: slug, Url: url}); err != nil {
		t.Fatal(err)
	}
}
