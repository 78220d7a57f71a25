package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/agentmcp/agentmcp/store"
)

// testAudit: every write leaves exactly one event, in order, with its actor and the record
// before and after; a refused write leaves none.
func testAudit(t *testing.T, st store.Store) {
	ctx := store.WithActor(context.Background(), store.Actor{KeyID: "key_1", RequestID: "req-1"})
	mustApp(t, st, "a")
	mustApp(t, st, "b")
	k, _ := store.NewAPIKey("a", store.ScopeFullAccess)
	steps := []struct {
		action, target string
		write          func() error
	}{
		{store.AuditKeyCreate, store.KeyTarget(k.ID), func() error { return st.CreateAPIKey(ctx, k) }},
		{store.AuditServerCreate, store.ServerTarget("s"), func() error { _, err := st.CreateMCPServer(ctx, "a", server("s")); return err }},
		{store.AuditServerUpdate, store.ServerTarget("s"), func() error {
			_, _, err := st.UpdateMCPServer(ctx, "a", "s", store.MCPServerPatch{Name: ptr("renamed")}, store.Precondition{})
			return err
		}},
		{store.AuditAgentCreate, store.AgentTarget("bot"), func() error {
			_, err := st.CreateAgent(ctx, store.Agent{AppID: "a", UID: "bot", Name: "Bot"})
			return err
		}},
		{store.AuditAgentAttach, store.AgentTarget("bot"), func() error { _, err := st.AttachMCPServers(ctx, "a", "bot", []string{"s"}); return err }},
		{store.AuditAgentDetach, store.AgentTarget("bot"), func() error { _, err := st.DetachMCPServers(ctx, "a", "bot", []string{"s"}); return err }},
		{store.AuditAgentUpdate, store.AgentTarget("bot"), func() error {
			_, err := st.UpdateAgent(ctx, "a", "bot", store.AgentPatch{Name: ptr("B")}, store.Precondition{})
			return err
		}},
		{store.AuditAgentDelete, store.AgentTarget("bot"), func() error { return st.DeleteAgent(ctx, "a", "bot", store.Precondition{}) }},
		{store.AuditServerDelete, store.ServerTarget("s"), func() error { return st.DeleteMCPServer(ctx, "a", "s", store.Precondition{}) }},
		{store.AuditKeyRevoke, store.KeyTarget(k.ID), func() error { return st.RevokeAPIKey(ctx, k.ID) }},
	}
	for i, s := range steps {
		if err := s.write(); err != nil {
			t.Fatalf("step %d %s: %v", i, s.action, err)
		}
		// Refused and no-op writes in between leave nothing.
		st.CreateMCPServer(ctx, "no-such-app", server("x"))
		st.AttachMCPServers(ctx, "a", "nobody", []string{"s"})
		st.CreateAgent(ctx, store.Agent{AppID: "a", UID: "other", Name: "O", MCPServers: []string{"ghost"}})
		st.UpdateMCPServer(ctx, "a", "missing", store.MCPServerPatch{Name: ptr("x")}, store.Precondition{})
		st.RevokeAPIKey(ctx, "key_missing")
	}
	st.UpdateMCPServer(ctx, "a", "gone", store.MCPServerPatch{}, store.Precondition{})
	events, err := st.ListAuditEvents(ctx, "a", store.AuditQuery{Limit: 100})
	if err != nil || len(events) != len(steps) {
		var got []string
		for _, e := range events {
			got = append(got, e.Action)
		}
		t.Fatalf("%d events (%v), want %d: %v", len(events), got, len(steps), err)
	}
	for i, e := range events { // newest first
		want := steps[len(steps)-1-i]
		if e.Action != want.action || e.Target != want.target || e.KeyID != "key_1" || e.RequestID != "req-1" || e.AppID != "a" || e.At == 0 {
			t.Fatalf("event %d: %+v, want %s %s", i, e, want.action, want.target)
		}
		if i > 0 && e.ID >= events[i-1].ID {
			t.Fatal("events not newest first")
		}
	}
	byAction := map[string]store.AuditEvent{}
	for _, e := range events {
		byAction[e.Action] = e
	}
	var before, after map[string]any
	json.Unmarshal(byAction[store.AuditServerUpdate].Before, &before)
	json.Unmarshal(byAction[store.AuditServerUpdate].After, &after)
	if before["name"] != "Server s" || after["name"] != "renamed" {
		t.Fatalf("update before/after: %v / %v", before, after)
	}
	if byAction[store.AuditServerCreate].Before != nil || byAction[store.AuditServerDelete].After != nil || byAction[store.AuditServerDelete].Before == nil {
		t.Fatal("create has no before, delete no after")
	}
	for _, e := range []store.AuditEvent{byAction[store.AuditKeyCreate], byAction[store.AuditKeyRevoke]} {
		if len(e.After) == 0 || !json.Valid(e.After) || containsHash(e.After, k) {
			t.Fatalf("key event leaks or lacks data: %s", e.After)
		}
	}
	filtered, _ := st.ListAuditEvents(ctx, "a", store.AuditQuery{Limit: 100, Target: store.AgentTarget("bot")})
	page, _ := st.ListAuditEvents(ctx, "a", store.AuditQuery{Limit: 2, Before: events[1].ID, Action: store.AuditAgentDelete})
	if len(filtered) != 5 || len(page) != 1 || page[0].Action != store.AuditAgentDelete {
		t.Fatalf("filters: %d, %+v", len(filtered), page)
	}
	if other, _ := st.ListAuditEvents(ctx, "b", store.AuditQuery{Limit: 100}); len(other) != 0 {
		t.Fatal("another app sees a's events")
	}
}

func containsHash(b []byte, k store.APIKey) bool {
	return strings.Contains(string(b), "Hash") || strings.Contains(string(b), fmt.Sprintf("%x", k.Hash[:8]))
}
