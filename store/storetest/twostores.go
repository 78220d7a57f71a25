package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/agentmcp/agentmcp/internal/toolnames"
	"github.com/agentmcp/agentmcp/store"
)

// TwoStores checks that a and b, two stores on one database (two replicas, or two
// processes on one SQLite file), each see the other's agent writes at once: their reads
// and writes go through their own caches of decoded agents, which must never answer with
// a version the database has moved past.
func TwoStores(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	mustApp(t, a, "two")
	for _, s := range []string{"s1", "s2", "s3"} {
		mustCreate(t, a, "two", s)
	}
	mustAgent(t, a, "two", "bot", "s1")
	get := func(st store.Store) store.Agent {
		t.Helper()
		got, err := st.GetAgent(ctx, "two", "bot")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := func(st store.Store, mcps ...string) {
		t.Helper()
		if got := get(st); !slices.Equal(got.MCPServers, mcps) {
			t.Fatalf("agent's servers %v, want %v", got.MCPServers, mcps)
		}
	}
	want(b, "s1") // b has it cached now
	if _, err := a.AttachMCPServers(ctx, "two", "bot", []string{"s2"}); err != nil {
		t.Fatal(err)
	}
	want(b, "s1", "s2")
	// b writes from its cache: the attach must start from a's last write, not b's copy.
	get(b)
	if _, err := a.DetachMCPServers(ctx, "two", "bot", []string{"s1"}); err != nil {
		t.Fatal(err)
	}
	got, err := b.AttachMCPServers(ctx, "two", "bot", []string{"s3"})
	if err != nil || !slices.Equal(got.MCPServers, []string{"s2", "s3"}) {
		t.Fatalf("attach through b after a's detach: %v, %v; want [s2 s3]", got.MCPServers, err)
	}
	want(a, "s2", "s3")
	// A no-op through b (s1 is not attached) answers the current agent, not a cached one.
	get(b)
	name := "renamed"
	if _, err := a.UpdateAgent(ctx, "two", "bot", store.AgentPatch{Name: &name}, store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.DetachMCPServers(ctx, "two", "bot", []string{"s1"}); err != nil || got.Name != name {
		t.Fatalf("no-op detach through b after a's rename: name %q, %v; want %q", got.Name, err, name)
	}
	// An update through b starts from the agent a left, not from b's cached copy.
	get(b)
	name = "renamed again"
	if _, err := a.UpdateAgent(ctx, "two", "bot", store.AgentPatch{Name: &name}, store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	desc := "by b"
	if got, err := b.UpdateAgent(ctx, "two", "bot", store.AgentPatch{Description: &desc}, store.Precondition{}); err != nil || got.Name != name || got.Description != desc {
		t.Fatalf("update through b after a's rename: %q/%q, %v; want %q/%q", got.Name, got.Description, err, name, desc)
	}
	if got := get(a); got.Name != name || got.Description != desc {
		t.Fatalf("after both updates a reads %q/%q, want %q/%q", got.Name, got.Description, name, desc)
	}
	// A server delete detaches it from agents in SQL; b sees that too.
	if err := a.DeleteMCPServer(ctx, "two", "s2", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	want(b, "s3")
	// Deleted and made again (same uid, at once): b serves the new agent.
	get(b)
	if err := a.DeleteAgent(ctx, "two", "bot", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetAgent(ctx, "two", "bot"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted agent through b: %v, want ErrNotFound", err)
	}
	mustAgent(t, a, "two", "bot", "s1")
	want(b, "s1")
	get(b)
	if err := a.DeleteAgent(ctx, "two", "bot", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	mustAgent(t, a, "two", "bot", "s3")
	want(b, "s3")

	// b's copy says an attach or a detach changes the agent, which a changed already: the
	// write through b changes nothing, records nothing, and answers the agent as it is.
	events := func() int {
		t.Helper()
		ev, err := a.ListAuditEvents(ctx, "two", store.AuditQuery{Limit: 100, Target: store.AgentTarget("bot")})
		if err != nil {
			t.Fatal(err)
		}
		return len(ev)
	}
	get(b)
	if _, err := a.AttachMCPServers(ctx, "two", "bot", []string{"s1"}); err != nil {
		t.Fatal(err)
	}
	n := events()
	if got, err := b.AttachMCPServers(ctx, "two", "bot", []string{"s1"}); err != nil || !slices.Equal(got.MCPServers, []string{"s3", "s1"}) {
		t.Fatalf("attach through b of what a attached: %v, %v; want [s3 s1]", got.MCPServers, err)
	}
	if _, err := a.DetachMCPServers(ctx, "two", "bot", []string{"s3"}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.DetachMCPServers(ctx, "two", "bot", []string{"s3"}); err != nil || !slices.Equal(got.MCPServers, []string{"s1"}) {
		t.Fatalf("detach through b of what a detached: %v, %v; want [s1]", got.MCPServers, err)
	}
	if m := events(); m != n+1 {
		t.Fatalf("%d audit events after a's detach and b's two no-ops, want %d (a's only)", m, n+1)
	}
	// Gone meanwhile: b's copy says the attach changes it; the write finds no agent.
	if err := a.DeleteAgent(ctx, "two", "bot", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AttachMCPServers(ctx, "two", "bot", []string{"s3"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("attach through b to an agent a deleted: %v, want ErrNotFound", err)
	}

	// A large agent (PostgreSQL checks its version before reading it whole): the same.
	mustAgent(t, a, "two", "big")
	long := strings.Repeat("x", 8<<10)
	if _, err := a.UpdateAgent(ctx, "two", "big", store.AgentPatch{Description: &long}, store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetAgent(ctx, "two", "big"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AttachMCPServers(ctx, "two", "big", []string{"s1"}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.AttachMCPServers(ctx, "two", "big", []string{"s3"}); err != nil || !slices.Equal(got.MCPServers, []string{"s1", "s3"}) {
		t.Fatalf("attach through b to the large agent after a's: %v, %v; want [s1 s3]", got.MCPServers, err)
	}

	// b learns of a's switch to original tool names at once, and checks its attach against it.
	withTools(t, a, "two", "t1", "same")
	withTools(t, a, "two", "t2", "same")
	mustAgent(t, a, "two", "names", "t1")
	if got := get2(t, b, "names"); got.Gateway.ToolNames != toolnames.Prefixed {
		t.Fatalf("b reads toolNames %q, want prefixed", got.Gateway.ToolNames)
	}
	if _, err := a.UpdateAgent(ctx, "two", "names", store.AgentPatch{ToolNames: ptr(toolnames.Original)}, store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	// b's copy says prefixed: its attach must be checked against the agent a left.
	_, err = b.AttachMCPServers(ctx, "two", "names", []string{"t2"})
	wantConflict(t, err, "same", "t2", "t1")
	if got := get2(t, b, "names"); got.Gateway.ToolNames != toolnames.Original || !slices.Equal(got.MCPServers, []string{"t1"}) {
		t.Fatalf("b reads %+v after a's switch and its refused attach, want original names and [t1]", got)
	}
}

func get2(t *testing.T, st store.Store, uid string) store.Agent {
	t.Helper()
	got, err := st.GetAgent(context.Background(), "two", uid)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
