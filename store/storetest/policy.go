package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/agentmcp/agentmcp/store"
)

// An agent's gateway policy is stored with it; a bad one is refused naming its field and
// changes nothing; new agents pin with enforce; a detached server's policy is not shown.
func testGatewayPolicy(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustCreate(t, st, "a", "web")
	mustCreate(t, st, "a", "calc")
	bot := mustAgent(t, st, "a", "bot", "web", "calc")
	if bot.Gateway.Pinning != store.PinningEnforce {
		t.Fatalf("new agent pinning %q, want enforce", bot.Gateway.Pinning)
	}
	pol := map[string]store.ServerPolicy{"web": {Allow: []string{"search"}, Rename: map[string]string{"search": "find"}}, "calc": {Allow: []string{}}}
	got, err := st.UpdateAgent(ctx, "a", "bot", store.AgentPatch{GatewayServers: &pol, Pinning: ptr(store.PinningWarn)}, store.Precondition{})
	if err != nil || got.Gateway.Pinning != store.PinningWarn || got.Gateway.Servers["web"].Rename["search"] != "find" ||
		got.Gateway.Servers["calc"].Allow == nil || len(got.Gateway.Servers["calc"].Allow) != 0 {
		t.Fatalf("policy written: %+v, %v", got.Gateway, err)
	}
	if again, err := st.GetAgent(ctx, "a", "bot"); err != nil || !samePolicy(again.Gateway, got.Gateway) {
		t.Fatalf("policy read back: %+v, %v", again.Gateway, err)
	}
	for _, bad := range []struct {
		pol      map[string]store.ServerPolicy
		field    string
		conflict bool
	}{
		{map[string]store.ServerPolicy{"web": {Rename: map[string]string{"search": "no spaces"}}}, "gateway.servers.web.rename.search", false},
		{map[string]store.ServerPolicy{"web": {Rename: map[string]string{"search": "x"}}, "calc": {Rename: map[string]string{"add": "x"}}}, "gateway.servers.web.rename.search", true},
		{map[string]store.ServerPolicy{"nope": {Allow: []string{"x"}}}, "gateway.servers.nope", false},
	} {
		_, err := st.UpdateAgent(ctx, "a", "bot", store.AgentPatch{GatewayServers: &bad.pol}, store.Precondition{})
		var pe *store.GatewayPolicyError
		if !errors.As(err, &pe) || pe.Field != bad.field || pe.Conflict != bad.conflict {
			t.Fatalf("%+v: %v, want a refusal at %s (conflict %v)", bad.pol, err, bad.field, bad.conflict)
		}
		unchanged(t, st, got)
	}
	det, err := st.DetachMCPServers(ctx, "a", "bot", []string{"calc"})
	if err != nil || det.Gateway.Servers["calc"].Allow != nil || det.Gateway.Servers["web"].Allow == nil {
		t.Fatalf("after a detach: %+v, %v", det.Gateway, err)
	}
}

func samePolicy(a, b store.AgentGateway) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Pins: a server seen first is pinned as it is; a changed or new item awaits a decision
// under its hash (once, however many replicas see it), with an audit event; approval by a
// stale hash is refused; approval and rejection are audited.
func testToolPins(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustCreate(t, st, "a", "web")
	mustAgent(t, st, "a", "bot", "web")
	obs := func(name, hash string) store.PinObservation {
		return store.PinObservation{Server: "web", Kind: store.PinTool, Name: name, Hash: hash, Def: []byte(`{"name":"` + name + `","h":"` + hash + `"}`)}
	}
	if _, err := st.ObserveToolPins(ctx, "a", "nobody", []store.PinObservation{obs("x", "1")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("observe of a missing agent: %v", err)
	}
	if ch, err := st.ObserveToolPins(ctx, "a", "bot", []store.PinObservation{obs("search", "h1")}); err != nil || len(ch) != 0 {
		t.Fatalf("first sight: %+v, %v", ch, err)
	}
	pins, err := st.ListToolPins(ctx, "a", "bot")
	if err != nil || len(pins) != 2 || pins[1].Approved != "h1" || pins[0].Kind != store.PinServer {
		t.Fatalf("pins after first sight: %+v, %v", pins, err)
	}
	// Two replicas see the same change at once: it is recorded once.
	var mu sync.Mutex
	recorded := 0
	Concurrently(t, 4, func(int) error {
		ch, err := st.ObserveToolPins(ctx, "a", "bot", []store.PinObservation{obs("search", "h2"), obs("fetch", "f1")})
		mu.Lock()
		recorded += len(ch)
		mu.Unlock()
		return err
	})
	if recorded != 2 {
		t.Fatalf("a change seen by 4 replicas was recorded %d times, want once per item (2)", recorded)
	}
	if _, err := st.ObserveToolPins(ctx, "a", "bot", []store.PinObservation{obs("search", "h3")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DecideToolChange(ctx, "a", "bot", "h2", true); !errors.Is(err, store.ErrStaleChange) {
		t.Fatalf("approve by a hash no longer offered: %v", err)
	}
	p, err := st.DecideToolChange(ctx, "a", "bot", "h3", true)
	if err != nil || p.Approved != "h3" || p.Pending != "" {
		t.Fatalf("approve: %+v, %v", p, err)
	}
	if _, err := st.DecideToolChange(ctx, "a", "bot", "h3", true); !errors.Is(err, store.ErrStaleChange) {
		t.Fatalf("approve twice: %v", err)
	}
	if p, err = st.DecideToolChange(ctx, "a", "bot", "f1", false); err != nil || !p.Rejected || p.Approved != "" {
		t.Fatalf("reject: %+v, %v", p, err)
	}
	ev, err := st.ListAuditEvents(ctx, "a", store.AuditQuery{Limit: 10, Target: store.AgentTarget("bot")})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range ev {
		actions = append(actions, e.Action)
	}
	want := []string{store.AuditToolRejected, store.AuditToolApproved, store.AuditToolChanged, store.AuditToolChanged, store.AuditToolChanged}
	if len(actions) < len(want) {
		t.Fatalf("audit actions %v", actions)
	}
	for i, w := range want {
		if actions[i] != w {
			t.Fatalf("audit actions %v, want %v first", actions, want)
		}
	}
	var before, after store.AuditDefinition
	if json.Unmarshal(ev[1].Before, &before) != nil || json.Unmarshal(ev[1].After, &after) != nil || before.Hash != "h1" || after.Hash != "h3" || after.Name != "search" {
		t.Fatalf("approval's before/after: %s → %s", ev[1].Before, ev[1].After)
	}
	// Back at the approved definition: nothing awaits.
	if _, err := st.ObserveToolPins(ctx, "a", "bot", []store.PinObservation{obs("search", "h4")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ObserveToolPins(ctx, "a", "bot", []store.PinObservation{obs("search", "h3")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DecideToolChange(ctx, "a", "bot", "h4", true); !errors.Is(err, store.ErrStaleChange) {
		t.Fatalf("a change that went back is still pending: %v", err)
	}
	if err := st.DeleteAgent(ctx, "a", "bot", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	mustAgent(t, st, "a", "bot", "web")
	if pins, err := st.ListToolPins(ctx, "a", "bot"); err != nil || len(pins) != 0 {
		t.Fatalf("pins outlived their agent: %+v, %v", pins, err)
	}
}
