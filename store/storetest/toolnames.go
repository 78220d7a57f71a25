package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/agentmcp/agentmcp/internal/toolnames"
	"github.com/agentmcp/agentmcp/store"
)

// withTools creates server slug whose last successful probe offered tools of the names given.
func withTools(t *testing.T, st store.Store, app, slug string, names ...string) {
	t.Helper()
	mustCreate(t, st, app, slug)
	var b bytes.Buffer
	b.WriteByte('[')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":%q,"inputSchema":{"type":"object"}}`, n)
	}
	b.WriteByte(']')
	r := store.ProbeRecord{Status: store.HealthOK, CheckedAt: 1000, ToolCount: len(names), Tools: b.Bytes(), Capabilities: map[string]any{}}
	if err := st.SaveProbe(context.Background(), app, slug, r); err != nil {
		t.Fatal(err)
	}
}

// wantConflict fails unless err is the conflict of tool name between server and conflictsWith.
func wantConflict(t *testing.T, err error, name, server, conflictsWith string) {
	t.Helper()
	var c *store.ToolNameConflictError
	if !errors.As(err, &c) || c.Conflict != (toolnames.Conflict{Name: name, Server: server, ConflictsWith: conflictsWith}) {
		t.Fatalf("want the conflict of %q between %q and %q, got %v", name, server, conflictsWith, err)
	}
}

// unchanged fails unless the agent is still as want.
func unchanged(t *testing.T, st store.Store, want store.Agent) {
	t.Helper()
	got, err := st.GetAgent(context.Background(), want.AppID, want.UID)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("a refused write changed the agent:\n got %+v, %v\nwant %+v", got, err, want)
	}
}

// With original tool names, every write that would give two servers' tools one name is
// refused and changes nothing; conflicts that were there before a write are not its own.
func testToolNames(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	withTools(t, st, "a", "web", "search", "fetch")
	withTools(t, st, "a", "docs", "read", "search")
	withTools(t, st, "a", "calc", "add")
	withTools(t, st, "a", "other", "x")
	mustCreate(t, st, "a", "fresh") // never probed: offers nothing yet
	original := store.AgentGateway{ToolNames: toolnames.Original}

	def := mustAgent(t, st, "a", "def", "web", "docs")
	if def.Gateway.ToolNames != toolnames.Prefixed {
		t.Fatalf("default toolNames %q, want prefixed", def.Gateway.ToolNames)
	}
	_, err := st.CreateAgent(ctx, store.Agent{AppID: "a", UID: "orig", Name: "o", Gateway: original, MCPServers: []string{"web", "calc", "docs"}})
	wantConflict(t, err, "search", "docs", "web")
	if _, err := st.GetAgent(ctx, "a", "orig"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused create left an agent: %v", err)
	}
	orig, err := st.CreateAgent(ctx, store.Agent{AppID: "a", UID: "orig", Name: "o", Gateway: original, MCPServers: []string{"web", "calc", "fresh"}})
	if err != nil || orig.Gateway.ToolNames != toolnames.Original {
		t.Fatalf("create with original names: %+v, %v", orig, err)
	}
	unchanged(t, st, orig)

	_, err = st.AttachMCPServers(ctx, "a", "orig", []string{"calc", "docs"})
	wantConflict(t, err, "search", "docs", "web")
	unchanged(t, st, orig)
	_, err = st.UpdateAgent(ctx, "a", "orig", store.AgentPatch{Name: ptr("renamed"), MCPServers: &[]string{"docs", "web"}}, store.Precondition{})
	wantConflict(t, err, "search", "web", "docs")
	unchanged(t, st, orig)

	// Switching to original names checks every attached server.
	_, err = st.UpdateAgent(ctx, "a", "def", store.AgentPatch{ToolNames: ptr(toolnames.Original)}, store.Precondition{})
	wantConflict(t, err, "search", "docs", "web")
	unchanged(t, st, def)
	sw, err := st.UpdateAgent(ctx, "a", "def", store.AgentPatch{ToolNames: ptr(toolnames.Original), MCPServers: &[]string{"docs", "calc"}}, store.Precondition{})
	if err != nil || sw.Gateway.ToolNames != toolnames.Original || !slices.Equal(sw.MCPServers, []string{"docs", "calc"}) || sw.UpdatedAt <= def.UpdatedAt {
		t.Fatalf("switch with a list without the clash: %+v, %v", sw, err)
	}
	unchanged(t, st, sw)
	ev, err := st.ListAuditEvents(ctx, "a", store.AuditQuery{Limit: 1, Target: store.AgentTarget("def")})
	if err != nil || len(ev) != 1 || !bytes.Contains(ev[0].Before, []byte(`"gateway":{"pinning":"enforce","toolNames":"prefixed"}`)) ||
		!bytes.Contains(ev[0].After, []byte(`"gateway":{"pinning":"enforce","toolNames":"original"}`)) {
		t.Fatalf("the audit event of the switch: %v, %+v", err, ev)
	}
	back, err := st.UpdateAgent(ctx, "a", "def", store.AgentPatch{ToolNames: ptr(toolnames.Prefixed), MCPServers: &[]string{"docs", "calc", "web"}}, store.Precondition{})
	if err != nil || back.Gateway.ToolNames != toolnames.Prefixed || len(back.MCPServers) != 3 {
		t.Fatalf("prefixed names never conflict: %+v, %v", back, err)
	}

	// A clash that appeared after the attach (fresh now offers "add", as calc does) is the
	// gateway's to withhold; it does not block an attach that brings no clash of its own.
	withToolsAgain(t, st, "a", "fresh", `[{"name":"add"}]`)
	now, err := st.AttachMCPServers(ctx, "a", "orig", []string{"other"})
	if err != nil || !slices.Equal(now.MCPServers, []string{"web", "calc", "fresh", "other"}) {
		t.Fatalf("attach beside an older clash: %+v, %v", now, err)
	}
	if _, err := st.DetachMCPServers(ctx, "a", "orig", []string{"web"}); err != nil {
		t.Fatal(err)
	}
	if got, err := st.AttachMCPServers(ctx, "a", "orig", []string{"docs"}); err != nil || got.MCPServers[len(got.MCPServers)-1] != "docs" {
		t.Fatalf("attach once the clashing server is gone: %+v, %v", got, err)
	}
}

func withToolsAgain(t *testing.T, st store.Store, app, slug, tools string) {
	t.Helper()
	r := store.ProbeRecord{Status: store.HealthOK, CheckedAt: 2000, Tools: []byte(tools), Capabilities: map[string]any{}}
	if err := st.SaveProbe(context.Background(), app, slug, r); err != nil {
		t.Fatal(err)
	}
}

// Concurrent attaches of clashing servers to one agent with original names: one wins, every
// other is refused, whatever the interleaving (the check runs in the write's transaction).
func testConcurrentToolNames(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	const n = 6
	for i := range n {
		withTools(t, st, "a", fmt.Sprintf("s%d", i), "same", fmt.Sprintf("own%d", i))
	}
	for round := range 3 {
		uid := fmt.Sprintf("race%d", round)
		if _, err := st.CreateAgent(ctx, store.Agent{AppID: "a", UID: uid, Name: uid, Gateway: store.AgentGateway{ToolNames: toolnames.Original}}); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		won := 0
		Concurrently(t, n, func(i int) error {
			_, err := st.AttachMCPServers(ctx, "a", uid, []string{fmt.Sprintf("s%d", i)})
			var c *store.ToolNameConflictError
			if errors.As(err, &c) {
				return nil
			}
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			}
			return err
		})
		a, err := st.GetAgent(ctx, "a", uid)
		if err != nil || won != 1 || len(a.MCPServers) != 1 {
			t.Fatalf("round %d: %d attaches won, agent has %v (%v); want exactly one", round, won, a.MCPServers, err)
		}
	}
}
