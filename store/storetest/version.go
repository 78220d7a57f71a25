package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/agentmcp/agentmcp/store"
)

// testIfMatch: a conditional update or delete checks the version inside the write and
// writes nothing when it does not match.
func testIfMatch(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	m := mustCreate(t, st, "a", "v")
	a := mustAgent(t, st, "a", "bot")
	is := func(v string) func(string) bool { return func(cur string) bool { return cur == v } }
	name := "new"

	stale := store.WithIfMatch(ctx, is("0.0"))
	if _, err := st.UpdateMCPServer(stale, "a", "v", store.MCPServerPatch{Name: &name}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("stale update: %v", err)
	}
	if err := st.DeleteMCPServer(stale, "a", "v"); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("stale delete: %v", err)
	}
	if got, _ := st.GetMCPServer(ctx, "a", "v"); got.Name != m.Name {
		t.Fatal("a refused conditional write changed the server")
	}
	up, err := st.UpdateMCPServer(store.WithIfMatch(ctx, is(store.ServerVersion(m))), "a", "v", store.MCPServerPatch{Name: &name})
	if err != nil || up.Name != "new" || store.ServerVersion(up) == store.ServerVersion(m) {
		t.Fatalf("current update: %+v %v", up, err)
	}
	if err := st.DeleteMCPServer(store.WithIfMatch(ctx, is(store.ServerVersion(up))), "a", "v"); err != nil {
		t.Fatalf("current delete: %v", err)
	}
	if err := st.DeleteMCPServer(store.WithIfMatch(ctx, is("x")), "a", "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("conditional delete of a missing server: %v", err)
	}

	staleA := store.WithIfMatch(ctx, is("1"))
	if _, err := st.UpdateAgent(staleA, "a", "bot", store.AgentPatch{Name: &name}); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("stale agent update: %v", err)
	}
	if err := st.DeleteAgent(staleA, "a", "bot"); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("stale agent delete: %v", err)
	}
	if err := st.DeleteAgent(store.WithIfMatch(ctx, is(store.AgentVersion(a))), "a", "bot"); err != nil {
		t.Fatalf("current agent delete: %v", err)
	}
}
