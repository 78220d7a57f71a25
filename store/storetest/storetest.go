// Package storetest is the conformance suite every store.Store backend runs against a real
// database: same inputs, same answers, whatever the backend.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/store"
)

// Opener returns a fresh, empty, migrated store; the suite closes nothing it did not open.
type Opener func(t *testing.T) store.Store

// Run runs every conformance test against stores from open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"AppsAndKeys", testAppsAndKeys},
		{"CreateGet", testCreateGet},
		{"SlugUniquePerApp", testSlugUniquePerApp},
		{"Update", testUpdate},
		{"Delete", testDelete},
		{"Tenancy", testTenancy},
		{"PaginationSameMillisecond", testPagination},
		{"ConcurrentCreates", testConcurrentCreates},
		{"ConcurrentLimit", testConcurrentLimit},
		{"ContextCancelled", testContextCancelled},
		{"AgentCRUD", testAgentCRUD},
		{"AttachDetach", testAttachDetach},
		{"DeleteDetaches", testDeleteDetaches},
		{"AttachedListAgrees", testAttachedListAgrees},
		{"AgentTenancy", testAgentTenancy},
		{"AgentPagination", testAgentPagination},
		{"ConcurrentAttachDetach", testConcurrentAttachDetach},
		{"ConcurrentSameAttach", testConcurrentSameAttach},
		{"CombinedChanges", testCombinedChanges},
		{"CombinedAcrossAgents", testCombinedAcrossAgents},
		{"DeleteRacesAttach", testDeleteRacesAttach},
		{"Probes", testProbes},
		{"ServerLimit", testServerLimit},
		{"IfMatch", testIfMatch},
		{"IfMatchRace", testIfMatchRace},
		{"Idempotency", testIdempotency},
		{"IdempotencyRace", testIdempotencyRace},
		{"Audit", testAudit},
		{"ClaimProbes", testClaimProbes},
		{"RegistrySwitch", testRegistrySwitch},
		{"RegistryList", testRegistryList},
		{"PurgeAuditEvents", testPurgeAuditEvents},
		{"CountIdempotent", testCountIdempotent},
		{"OAuth", testOAuth},
		{"UpstreamOAuth", testUpstreamOAuth},
		{"UpstreamOAuthRefreshRace", testUpstreamOAuthRefreshRace},
		{"UpstreamOAuthReseal", testUpstreamOAuthReseal},
		{"ToolNames", testToolNames},
		{"ConcurrentToolNames", testConcurrentToolNames},
		{"GatewayPolicy", testGatewayPolicy},
		{"ToolPins", testToolPins},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func mustApp(t *testing.T, st store.Store, id string) {
	t.Helper()
	if _, err := st.CreateApp(context.Background(), id); err != nil {
		t.Fatalf("CreateApp(%q): %v", id, err)
	}
}

func server(slug string) store.NewMCPServer {
	return store.NewMCPServer{Slug: slug, Name: "Server " + slug, URL: "https://" + slug + ".example.com/mcp", Description: "d-" + slug, Icon: ""}
}

func mustCreate(t *testing.T, st store.Store, app, slug string) store.MCPServer {
	t.Helper()
	m, err := st.CreateMCPServer(context.Background(), app, server(slug))
	if err != nil {
		t.Fatalf("CreateMCPServer(%q, %q): %v", app, slug, err)
	}
	return m
}

func testAppsAndKeys(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a1")
	if _, err := st.CreateApp(ctx, "a1"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second CreateApp: got %v, want ErrConflict", err)
	}
	apps, err := st.ListApps(ctx)
	if err != nil || len(apps) != 1 || apps[0].ID != "a1" {
		t.Fatalf("ListApps = %v, %v", apps, err)
	}
	k, secret := store.NewAPIKey("a1", store.ScopeFullAccess)
	if err := st.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if orphan, _ := store.NewAPIKey("nope", store.ScopeFullAccess); !errors.Is(st.CreateAPIKey(ctx, orphan), store.ErrNotFound) {
		t.Fatal("a key for a missing app must be ErrNotFound")
	}
	got, err := st.LookupAPIKey(ctx, store.HashKey(secret))
	if err != nil || got.ID != k.ID || got.AppID != "a1" || got.Scope != store.ScopeFullAccess || got.RevokedAt != 0 || got.Hash != k.Hash {
		t.Fatalf("LookupAPIKey = %+v, %v", got, err)
	}
	if _, err := st.LookupAPIKey(ctx, store.HashKey(secret+"x")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	if err := st.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatalf("revoking twice must succeed: %v", err)
	}
	if err := st.RevokeAPIKey(ctx, "key_missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke missing: %v", err)
	}
	got, _ = st.LookupAPIKey(ctx, store.HashKey(secret))
	if got.RevokedAt == 0 {
		t.Fatal("revoked key still active")
	}
	keys, err := st.ListAPIKeys(ctx, "a1")
	if err != nil || len(keys) != 1 {
		t.Fatalf("ListAPIKeys = %v, %v", keys, err)
	}
}

func testCreateGet(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	in := store.NewMCPServer{Slug: "weather", Name: "Weather", URL: "https://w.example.com/mcp", Description: "é ✓ 日本", Icon: "https://w.example.com/i.png"}
	before := store.NowMillis()
	m, err := st.CreateMCPServer(ctx, "a", in)
	if err != nil {
		t.Fatal(err)
	}
	if m.AppID != "a" || m.Slug != in.Slug || m.Name != in.Name || m.URL != in.URL || m.Description != in.Description || m.Icon != in.Icon {
		t.Fatalf("created %+v from %+v", m, in)
	}
	if m.CreatedAt < before || m.UpdatedAt != m.CreatedAt {
		t.Fatalf("timestamps %d/%d, before %d", m.CreatedAt, m.UpdatedAt, before)
	}
	got, err := st.GetMCPServer(ctx, "a", "weather")
	if err != nil || got != m {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, m)
	}
	if _, err := st.GetMCPServer(ctx, "a", "other"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get missing: %v", err)
	}
	if _, err := st.CreateMCPServer(ctx, "no-such-app", server("x")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("create in a missing app: %v", err)
	}
}

func testSlugUniquePerApp(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustApp(t, st, "b")
	first := mustCreate(t, st, "a", "dup")
	other := server("dup")
	other.Name = "second"
	if _, err := st.CreateMCPServer(ctx, "a", other); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate slug: %v", err)
	}
	got, _ := st.GetMCPServer(ctx, "a", "dup")
	if got != first {
		t.Fatalf("a failed duplicate create changed the record: %+v", got)
	}
	mustCreate(t, st, "b", "dup") // the same slug in another app is fine
	list, _ := st.ListMCPServers(ctx, "a", store.Page{Limit: 100})
	if len(list) != 1 {
		t.Fatalf("app a has %d servers, want 1", len(list))
	}
}

func testUpdate(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	in := server("u")
	in.Icon = "https://u.example.com/i.png"
	m, err := st.CreateMCPServer(ctx, "a", in)
	if err != nil {
		t.Fatal(err)
	}
	before, same, err := st.UpdateMCPServer(ctx, "a", "u", store.MCPServerPatch{}, store.Precondition{})
	if err != nil || same != m || before != m {
		t.Fatalf("empty patch = %+v → %+v, %v; want unchanged %+v", before, same, err, m)
	}
	name := m.Name
	_, same, _ = st.UpdateMCPServer(ctx, "a", "u", store.MCPServerPatch{Name: &name}, store.Precondition{})
	if same != m {
		t.Fatalf("patch to equal values changed the record: %+v", same)
	}
	newName, empty := "Renamed", ""
	before, up, err := st.UpdateMCPServer(ctx, "a", "u", store.MCPServerPatch{Name: &newName, Icon: &empty}, store.Precondition{})
	if err != nil {
		t.Fatal(err)
	}
	if before != m {
		t.Fatalf("update returned before = %+v, want %+v", before, m)
	}
	if up.Name != "Renamed" || up.Icon != "" || up.Description != m.Description || up.URL != m.URL || up.CreatedAt != m.CreatedAt {
		t.Fatalf("partial update = %+v from %+v", up, m)
	}
	if up.UpdatedAt <= m.UpdatedAt {
		t.Fatalf("updatedAt %d not after %d", up.UpdatedAt, m.UpdatedAt)
	}
	got, _ := st.GetMCPServer(ctx, "a", "u")
	if got != up {
		t.Fatalf("stored %+v, returned %+v", got, up)
	}
	if _, _, err := st.UpdateMCPServer(ctx, "a", "missing", store.MCPServerPatch{Name: &newName}, store.Precondition{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
}

func testDelete(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustCreate(t, st, "a", "d")
	if err := st.DeleteMCPServer(ctx, "a", "d", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMCPServer(ctx, "a", "d", store.Precondition{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := st.GetMCPServer(ctx, "a", "d"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	again := mustCreate(t, st, "a", "d") // the slug is free again
	if again.Slug != "d" {
		t.Fatal(again)
	}
}

func testTenancy(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustApp(t, st, "b")
	mustCreate(t, st, "a", "mine")
	name := "stolen"
	if _, err := st.GetMCPServer(ctx, "b", "mine"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b read a's server: %v", err)
	}
	if _, _, err := st.UpdateMCPServer(ctx, "b", "mine", store.MCPServerPatch{Name: &name}, store.Precondition{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b updated a's server: %v", err)
	}
	if err := st.DeleteMCPServer(ctx, "b", "mine", store.Precondition{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b deleted a's server: %v", err)
	}
	if l, _ := st.ListMCPServers(ctx, "b", store.Page{Limit: 100}); len(l) != 0 {
		t.Fatalf("b lists %d servers", len(l))
	}
	if m, err := st.GetMCPServer(ctx, "a", "mine"); err != nil || m.Name == name {
		t.Fatalf("a's server after b's attempts: %+v, %v", m, err)
	}
}

// testPagination inserts fast enough that many records share a millisecond, then checks
// that createdAt is strictly increasing and that walking pages both ways is exact.
func testPagination(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustApp(t, st, "b")
	const n = 300
	var want []string // newest first
	for i := range n {
		m := mustCreate(t, st, "a", fmt.Sprintf("s%03d", i))
		want = append([]string{m.Slug}, want...)
		if i%10 == 0 {
			mustCreate(t, st, "b", fmt.Sprintf("s%03d", i)) // interleaved writes of another app
		}
	}
	all, err := st.ListMCPServers(ctx, "a", store.Page{Limit: n + 10})
	if err != nil || len(all) != n {
		t.Fatalf("list all: %d, %v", len(all), err)
	}
	sameMs := 0
	for i := 1; i < len(all); i++ {
		if all[i].CreatedAt >= all[i-1].CreatedAt {
			t.Fatalf("createdAt not strictly decreasing at %d: %d then %d", i, all[i-1].CreatedAt, all[i].CreatedAt)
		}
		if all[i-1].CreatedAt-all[i].CreatedAt == 1 {
			sameMs++
		}
	}
	for _, limit := range []int{1, 7, 10, 100} {
		var got []string
		p := store.Page{Limit: limit}
		for {
			page, err := st.ListMCPServers(ctx, "a", p)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, m := range page {
				got = append(got, m.Slug)
			}
			p = store.Page{Limit: limit, Affix: store.AffixAppend, CreatedAt: page[len(page)-1].CreatedAt}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("limit %d: walking append gave %d items, not the %d in order", limit, len(got), len(want))
		}
		// And back up from the oldest with prepend; each page is still newest first.
		var back []string
		p = store.Page{Limit: limit, Affix: store.AffixPrepend, CreatedAt: all[len(all)-1].CreatedAt - 1}
		for {
			page, err := st.ListMCPServers(ctx, "a", p)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for i := 1; i < len(page); i++ {
				if page[i].CreatedAt >= page[i-1].CreatedAt {
					t.Fatal("a prepend page is not newest first")
				}
			}
			back = append(append([]string{}, slugs(page)...), back...)
			p = store.Page{Limit: limit, Affix: store.AffixPrepend, CreatedAt: page[0].CreatedAt}
		}
		if fmt.Sprint(back) != fmt.Sprint(want) {
			t.Fatalf("limit %d: walking prepend gave %d items, not the %d in order", limit, len(back), len(want))
		}
	}
	t.Logf("%d of %d neighbours were 1 ms apart (created in the same millisecond)", sameMs, n-1)
}

func slugs(ms []store.MCPServer) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Slug
	}
	return out
}

func testConcurrentCreates(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	const workers, slugsN = 16, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := map[string]int{}
	var errs []error
	for w := range workers {
		wg.Go(func() {
			for i := range slugsN {
				slug := fmt.Sprintf("c%d", (i+w)%slugsN)
				_, err := st.CreateMCPServer(ctx, "a", server(slug))
				mu.Lock()
				switch {
				case err == nil:
					created[slug]++
				case !errors.Is(err, store.ErrConflict):
					errs = append(errs, err)
				}
				mu.Unlock()
			}
			// Distinct slugs too, to race the per-app clock.
			for i := range 5 {
				if _, err := st.CreateMCPServer(ctx, "a", server(fmt.Sprintf("w%d-%d", w, i))); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("unexpected errors: %v", errs[0])
	}
	for i := range slugsN {
		if n := created[fmt.Sprintf("c%d", i)]; n != 1 {
			t.Fatalf("slug c%d created %d times", i, n)
		}
	}
	all, err := st.ListMCPServers(ctx, "a", store.Page{Limit: 1000})
	if err != nil || len(all) != slugsN+workers*5 {
		t.Fatalf("list: %d, %v", len(all), err)
	}
	seen := map[int64]bool{}
	for _, m := range all {
		if seen[m.CreatedAt] {
			t.Fatalf("createdAt %d handed out twice", m.CreatedAt)
		}
		seen[m.CreatedAt] = true
	}
}

func testContextCancelled(t *testing.T, st store.Store) {
	mustApp(t, st, "a")
	mustCreate(t, st, "a", "s")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.CreateMCPServer(ctx, "a", server("x")); !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("create with a cancelled context: %v, want context.Canceled (the caller has gone; the store is fine)", err)
	}
	if _, err := st.GetMCPServer(context.Background(), "a", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a cancelled create left a record: %v", err)
	}
	// A request that ran out of time is the store's failure to answer in time: unavailable,
	// with the deadline still visible, whatever the call.
	late, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	for name, call := range map[string]func() error{
		"create": func() error { _, err := st.CreateMCPServer(late, "a", server("y")); return err },
		"get":    func() error { _, err := st.GetMCPServer(late, "a", "s"); return err },
		"list":   func() error { _, err := st.ListMCPServers(late, "a", store.Page{Limit: 10}); return err },
		"update": func() error {
			_, _, err := st.UpdateMCPServer(late, "a", "s", store.MCPServerPatch{Name: ptr("n")}, store.Precondition{})
			return err
		},
		"delete":  func() error { return st.DeleteMCPServer(late, "a", "s", store.Precondition{}) },
		"agents":  func() error { _, err := st.ListAgents(late, "a", store.Page{Limit: 10}); return err },
		"servers": func() error { _, err := st.AgentMCPServers(late, "a", "bot"); return err },
		"begin":   func() error { _, _, err := st.BeginIdempotent(late, "a", "k", "h", 1, 0, 0); return err },
		"finish":  func() error { return st.FinishIdempotent(late, "a", "k", 201, "", "") },
		"audit":   func() error { _, err := st.ListAuditEvents(late, "a", store.AuditQuery{Limit: 10}); return err },
		"ping":    func() error { return st.Ping(late) },
		"lookup":  func() error { _, err := st.LookupAPIKey(late, store.HashKey("x")); return err },
		"claim":   func() error { _, err := st.ClaimProbes(late, 0, 0, 0, 10); return err },
		"saveProbe": func() error {
			return st.SaveProbe(late, "a", "s", store.ProbeRecord{Status: store.HealthOK})
		},
	} {
		if err := call(); !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s past its deadline: %v, want ErrUnavailable wrapping context.DeadlineExceeded", name, err)
		}
	}
}

func testServerLimit(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustApp(t, st, "b")
	limited := func(app, slug string) error {
		in := server(slug)
		in.Limit = 2
		_, err := st.CreateMCPServer(ctx, app, in)
		return err
	}
	for _, s := range []string{"x", "y"} {
		if err := limited("a", s); err != nil {
			t.Fatal(err)
		}
	}
	if err := limited("a", "z"); !errors.Is(err, store.ErrLimitReached) {
		t.Fatalf("third server of a limit of 2: %v", err)
	}
	if err := limited("a", "x"); !errors.Is(err, store.ErrLimitReached) && !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a duplicate at the limit: %v", err)
	}
	if err := limited("b", "z"); err != nil {
		t.Fatalf("another app is not limited by a's servers: %v", err)
	}
	if err := st.DeleteMCPServer(ctx, "a", "x", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if err := limited("a", "z"); err != nil {
		t.Fatalf("after a delete there is room: %v", err)
	}
	if _, err := st.CreateMCPServer(ctx, "nope", server("q")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing app: %v", err)
	}
}

// testConcurrentLimit: creates racing for an app's last places get exactly the places
// there are, distinct createdAts, and one audit event each (PostgreSQL sends concurrent
// creates as one statement, redone one by one when the whole batch does not fit).
func testConcurrentLimit(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	const limit, tries = 25, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, full int
	var errs []error
	seen := map[int64]bool{}
	for i := range tries {
		wg.Go(func() {
			in := server(fmt.Sprintf("l%02d", i))
			in.Limit = limit
			m, err := st.CreateMCPServer(ctx, "a", in)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
				if seen[m.CreatedAt] || m.CreatedAt == 0 || m.UpdatedAt != m.CreatedAt {
					errs = append(errs, fmt.Errorf("createdAt %d given twice (or unset)", m.CreatedAt))
				}
				seen[m.CreatedAt] = true
			case errors.Is(err, store.ErrLimitReached):
				full++
			default:
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 || ok != limit || full != tries-limit {
		t.Fatalf("%d created, %d refused as full, errors %v; want %d and %d", ok, full, errs, limit, tries-limit)
	}
	evs, err := st.ListAuditEvents(ctx, "a", store.AuditQuery{Action: store.AuditServerCreate, Limit: 100})
	if err != nil || len(evs) != limit {
		t.Fatalf("%d create events (%v), want %d", len(evs), err, limit)
	}
	for _, e := range evs {
		var after struct{ Slug string }
		if json.Unmarshal(e.After, &after) != nil || e.Target != store.ServerTarget(after.Slug) {
			t.Fatalf("event %+v: after %s", e, e.After)
		}
		m, err := st.GetMCPServer(ctx, "a", after.Slug)
		if err != nil || !bytes.Equal(e.After, store.AuditJSON(m)) {
			t.Fatalf("event after %s, server %+v (%v)", e.After, m, err)
		}
	}
}
