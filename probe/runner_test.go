package probe_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/store"
)

// TestRunnerFairShare: one app's burst of background probes (an import of 39 servers whose
// URLs hang) holds at most its share of the slots: another app's probe enqueued behind the
// burst runs at once, and a POST …/probe of it finds a free slot instead of 429.
func TestRunnerFairShare(t *testing.T) {
	var inflight atomic.Int32
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		inflight.Add(1)
		defer inflight.Add(-1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)

	st := apitest.OpenSQLite(t)
	prober := probe.New(probe.Options{AllowPrivate: true, Timeout: time.Minute})
	slots := probe.NewSlots(4, 2)
	runner := probe.NewRunner(st, prober, probe.RunnerOptions{Workers: 4, Slots: slots})
	ctx := context.Background()
	const appA, appB = "app-a", "app-b"
	for _, app := range []string{appA, appB} {
		if _, err := st.CreateApp(ctx, app); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 39 {
		slug := fmt.Sprintf("h%02d", i)
		if _, err := st.CreateMCPServer(ctx, appA, store.NewMCPServer{Slug: slug, Name: slug, URL: hang.URL + "/mcp"}); err != nil {
			t.Fatal(err)
		}
		runner.Enqueue(store.ServerRef{AppID: appA, Slug: slug, URL: hang.URL + "/mcp"})
	}
	quick := apitest.MCPServer(t, 2)
	if _, err := st.CreateMCPServer(ctx, appB, store.NewMCPServer{Slug: "quick", Name: "quick", URL: quick}); err != nil {
		t.Fatal(err)
	}
	runner.Enqueue(store.ServerRef{AppID: appB, Slug: "quick", URL: quick})
	runner.Start()
	defer runner.Stop()

	// App B's background probe is done while app A's hang, within what a probe of a local
	// server takes (far less than the hanging probes' minute).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if rec, err := st.GetProbe(ctx, appB, "quick"); err == nil && rec.Status == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("app B's probe waited behind app A's burst (%d of A's in flight)", inflight.Load())
		}
	}
	for deadline := time.Now().Add(30 * time.Second); inflight.Load() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("app A's probes never started (%d in flight)", inflight.Load())
		}
	}
	if n := inflight.Load(); n > 2 {
		t.Fatalf("app A holds %d probes at once; its share is 2", n)
	}
	// POST …/probe takes its slot with TryAcquire: app B finds one, app A is at its share.
	rel, ok := slots.TryAcquire(appB)
	if !ok {
		t.Fatal("app B's POST …/probe would be 429 while app A's burst runs")
	}
	rel()
	if _, ok := slots.TryAcquire(appA); ok {
		t.Fatal("app A got a slot past its share")
	}
	if n := inflight.Load(); n != 2 {
		t.Fatalf("app A holds %d probes at once; its share is 2", n)
	}
}
