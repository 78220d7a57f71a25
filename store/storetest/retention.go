package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/store"
)

// testPurgeAuditEvents: the events recorded before the cut-off go, of every app; the others
// stay, in order.
func testPurgeAuditEvents(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustApp(t, st, "b")
	for i := range 3 {
		mustCreate(t, st, "a", fmt.Sprintf("old-%d", i))
	}
	mustCreate(t, st, "b", "old-b")
	time.Sleep(5 * time.Millisecond)
	cut := store.NowMillis()
	time.Sleep(5 * time.Millisecond)
	mustCreate(t, st, "a", "new")
	if n, err := st.PurgeAuditEvents(ctx, cut); err != nil || n != 4 {
		t.Fatalf("purged %d, %v; want 4", n, err)
	}
	left, err := st.ListAuditEvents(ctx, "a", store.AuditQuery{Limit: 100})
	if err != nil || len(left) != 1 || left[0].Target != store.ServerTarget("new") {
		t.Fatalf("left %+v, %v", left, err)
	}
	if other, _ := st.ListAuditEvents(ctx, "b", store.AuditQuery{Limit: 100}); len(other) != 0 {
		t.Fatalf("app b kept %d old events", len(other))
	}
	if n, err := st.PurgeAuditEvents(ctx, cut); err != nil || n != 0 {
		t.Fatalf("second purge: %d, %v", n, err)
	}
	mustCreate(t, st, "a", "newer")
	if n, err := st.PurgeAuditEvents(ctx, store.NowMillis()+1); err != nil || n != 2 {
		t.Fatalf("purging everything: %d, %v", n, err)
	}
}

// testCountIdempotent: an app's keys, counted up to the limit, per app.
func testCountIdempotent(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustApp(t, st, "b")
	for i := range 5 {
		if _, _, err := st.BeginIdempotent(ctx, "a", fmt.Sprintf("k%d", i), "h", 1000, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	st.BeginIdempotent(ctx, "b", "k0", "h", 1000, 0, 0)
	for _, tc := range []struct {
		app         string
		limit, want int
	}{{"a", 10, 5}, {"a", 3, 3}, {"a", 5, 5}, {"b", 10, 1}, {"c", 10, 0}} {
		if n, err := st.CountIdempotent(ctx, tc.app, tc.limit); err != nil || n != tc.want {
			t.Fatalf("CountIdempotent(%s, %d) = %d, %v; want %d", tc.app, tc.limit, n, err, tc.want)
		}
	}
}
