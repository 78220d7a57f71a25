package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/agentmcp/agentmcp/store"
)

func testProbes(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	m := mustCreate(t, st, "a", "p")
	mustCreate(t, st, "a", "never")
	if _, err := st.GetProbe(ctx, "a", "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("never probed: %v", err)
	}
	if got, _ := st.GetMCPServer(ctx, "a", "p"); got.Health != nil {
		t.Fatalf("health before any probe: %+v", got.Health)
	}
	ok := store.ProbeRecord{Status: "ok", CheckedAt: 1000, LatencyMs: 12, ProtocolVersion: "2025-06-18", ServerName: "s", ServerVersion: "1",
		Capabilities: map[string]any{"tools": map[string]any{"listChanged": true}}, ToolCount: 2, Tools: []byte(`[{"name":"a"},{"name":"b"}]`)}
	if err := st.SaveProbe(ctx, "a", "p", ok); err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetMCPServer(ctx, "a", "p")
	if got.Health == nil || *got.Health != (store.Health{Status: "ok", CheckedAt: 1000, ToolCount: 2}) || got.UpdatedAt != m.UpdatedAt {
		t.Fatalf("after an ok probe: %+v (updatedAt must not move)", got)
	}
	failed := store.ProbeRecord{Status: "timeout", CheckedAt: 2000, LatencyMs: 10000, Error: "deadline"}
	if err := st.SaveProbe(ctx, "a", "p", failed); err != nil {
		t.Fatal(err)
	}
	r, err := st.GetProbe(ctx, "a", "p")
	if err != nil || r.Status != "timeout" || r.Error != "deadline" || string(r.Tools) != `[{"name":"a"},{"name":"b"}]` || r.ToolsCheckedAt != 1000 {
		t.Fatalf("a failed probe keeps the last tools: %+v, %v", r, err)
	}
	for h, want := range map[string][]string{store.HealthOK: nil, store.HealthFailing: {"p"}, store.HealthUnknown: {"never"}, "": {"never", "p"}} {
		l, err := st.ListMCPServers(ctx, "a", store.Page{Limit: 10, Health: h})
		if err != nil || len(l) != len(want) {
			t.Fatalf("health %q: %v, %v", h, slugs(l), err)
		}
		for i := range want {
			if l[i].Slug != want[i] {
				t.Fatalf("health %q: %v", h, slugs(l))
			}
		}
	}
	if err := st.SaveProbe(ctx, "a", "missing", ok); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("probe of a missing server: %v", err)
	}
	// Deleting the server deletes its probe; a new server of that slug starts unknown.
	if err := st.DeleteMCPServer(ctx, "a", "p", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, st, "a", "p")
	if _, err := st.GetProbe(ctx, "a", "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("probe survived its server: %v", err)
	}
}

func testClaimProbes(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustApp(t, st, "b")
	for _, s := range []string{"s1", "s2", "s3"} {
		mustCreate(t, st, "a", s)
	}
	mustCreate(t, st, "b", "s1")
	if err := st.SaveProbe(ctx, "a", "s3", store.ProbeRecord{Status: "ok", CheckedAt: 5000}); err != nil {
		t.Fatal(err)
	}
	// Concurrent claimers never get the same server; fresh probes are not claimed.
	var mu sync.Mutex
	seen := map[store.ServerRef]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			refs, err := st.ClaimProbes(ctx, 4000, 100, 10_000, 10)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			for _, r := range refs {
				seen[r]++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seen) != 3 {
		t.Fatalf("claimed %v, want a/s1, a/s2, b/s1 once each", seen)
	}
	for r, n := range seen {
		if n != 1 || r.URL == "" || r.Slug == "s3" {
			t.Fatalf("claimed %v", seen)
		}
	}
	if refs, _ := st.ClaimProbes(ctx, 4000, 200, 10_000, 10); len(refs) != 0 {
		t.Fatalf("leased servers claimed again: %v", refs)
	}
	// After the lease ends (now past it), they can be claimed again; a saved probe ends the lease.
	if err := st.SaveProbe(ctx, "a", "s1", store.ProbeRecord{Status: "ok", CheckedAt: 6000}); err != nil {
		t.Fatal(err)
	}
	refs, _ := st.ClaimProbes(ctx, 4000, 20_000, 30_000, 10)
	if len(refs) != 2 {
		t.Fatalf("after the lease: %v", refs)
	}
}
