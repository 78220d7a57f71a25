package store_test

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/sqlite"
)

// publishes are the methods of store.Store that change what an agent's gateway serves or
// what the read cache holds: store.Publishing publishes a change after each, which is how
// the cache, the gateways and the other replicas hear of it.
var publishes = []string{"CreateMCPServer", "UpdateMCPServer", "DeleteMCPServer", "UpdateAgent", "DeleteAgent",
	"AttachMCPServers", "DetachMCPServers", "SaveProbe", "DecideToolChange", "ObserveToolPins", "RevokeAPIKey"}

// quiet are the other methods, each with why it publishes nothing.
var quiet = map[string]string{
	"Ping": "read", "Close": "no data", "ListApps": "read", "LookupAPIKey": "read", "ListAPIKeys": "read",
	"GetMCPServer": "read", "ListMCPServers": "read", "GetAgent": "read", "ListAgents": "read", "AgentMCPServers": "read",
	"GetProbe": "read", "GetIdempotent": "read", "CountIdempotent": "read", "ListAuditEvents": "read", "ListDataKeys": "read",
	"CountSealed": "read", "ListSealed": "read", "GetCredentials": "read", "RegistryEnabled": "read", "ListRegistry": "read",
	"ListToolPins":    "read",
	"CreateApp":       "no server or agent yet",
	"CreateAgent":     "a new agent has no gateway state, and agents are not cached",
	"CreateAPIKey":    "keys are cached by server/auth for its TTL, not by the store's cache",
	"ClaimProbes":     "leases only; the probe's result is SaveProbe",
	"BeginIdempotent": "idempotency records", "FinishIdempotent": "idempotency records", "AbandonIdempotent": "idempotency records",
	"PurgeIdempotency": "idempotency records", "PurgeAuditEvents": "audit events",
	"AddDataKey": "data keys", "AddDataKeyWrap": "data keys", "DeleteDataKeyWraps": "data keys", "DeleteDataKey": "data keys",
	"Reseal":      "the same credentials under another data key: what a server serves is unchanged",
	"SetRegistry": "the registry views read it from the store each time",
}

// TestEveryStoreMethodClassified: a method added to store.Store fails here until it is
// classified as publishing or quiet (and fails to compile until store.Publishing and
// cache.Store, which embed nothing, forward it).
func TestEveryStoreMethodClassified(t *testing.T) {
	st := reflect.TypeFor[store.Store]()
	for i := range st.NumMethod() {
		name := st.Method(i).Name
		_, q := quiet[name]
		if p := slices.Contains(publishes, name); p == q {
			t.Errorf("store.Store.%s: classify it in exactly one of publishes and quiet", name)
		}
	}
	for name := range quiet {
		if _, ok := st.MethodByName(name); !ok {
			t.Errorf("quiet lists %s, which store.Store no longer has", name)
		}
	}
}

type recorder []store.Change

func (r *recorder) Publish(c store.Change) { *r = append(*r, c) }

// TestPublishingPublishesEveryWrite: each method in publishes, once successful, publishes
// one change naming what it changed.
func TestPublishingPublishesEveryWrite(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rec recorder
	st := store.Publishing(db, &rec)
	if _, err := st.CreateApp(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAgent(ctx, store.Agent{AppID: "app", UID: "a", Name: "A", RagVersion: "v2"}); err != nil {
		t.Fatal(err)
	}
	k, _ := store.NewAPIKey("app", store.ScopeFullAccess)
	if err := st.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	name := "n"
	writes := []struct {
		method, key string
		do          func() error
	}{
		{"RevokeAPIKey", k.ID, func() error { return st.RevokeAPIKey(ctx, k.ID) }},
		{"CreateMCPServer", "s", func() error {
			_, err := st.CreateMCPServer(ctx, "app", store.NewMCPServer{Slug: "s", Name: "s", URL: "https://s.example.com/mcp"})
			return err
		}},
		{"UpdateMCPServer", "s", func() error {
			_, _, err := st.UpdateMCPServer(ctx, "app", "s", store.MCPServerPatch{Name: &name}, store.Precondition{})
			return err
		}},
		{"SaveProbe", "s", func() error {
			return st.SaveProbe(ctx, "app", "s", store.ProbeRecord{Status: "ok", CheckedAt: 1, Tools: []byte(`[]`)})
		}},
		{"AttachMCPServers", "a", func() error { _, err := st.AttachMCPServers(ctx, "app", "a", []string{"s"}); return err }},
		{"DetachMCPServers", "a", func() error { _, err := st.DetachMCPServers(ctx, "app", "a", []string{"s"}); return err }},
		{"UpdateAgent", "a", func() error {
			_, err := st.UpdateAgent(ctx, "app", "a", store.AgentPatch{Name: &name}, store.Precondition{})
			return err
		}},
		{"ObserveToolPins", "a", func() error {
			if _, err := st.ObserveToolPins(ctx, "app", "a", []store.PinObservation{{Server: "s", Kind: store.PinServer}}); err != nil {
				return err
			}
			_, err := st.ObserveToolPins(ctx, "app", "a", []store.PinObservation{{Server: "s", Kind: store.PinTool, Name: "t", Hash: "h1", Def: []byte(`{}`)}})
			return err
		}},
		{"DecideToolChange", "a", func() error { _, err := st.DecideToolChange(ctx, "app", "a", "h1", true); return err }},
		{"DeleteMCPServer", "s", func() error { return st.DeleteMCPServer(ctx, "app", "s", store.Precondition{}) }},
		{"DeleteAgent", "a", func() error { return st.DeleteAgent(ctx, "app", "a", store.Precondition{}) }},
	}
	var done []string
	for _, w := range writes {
		rec = rec[:0]
		if err := w.do(); err != nil {
			t.Fatalf("%s: %v", w.method, err)
		}
		app := "app"
		if w.method == "RevokeAPIKey" {
			app = "" // a key's id names it
		}
		if len(rec) != 1 || rec[0].AppID != app || rec[0].Key != w.key {
			t.Errorf("%s published %+v, want one change of app/%s", w.method, rec, w.key)
		}
		done = append(done, w.method)
	}
	slices.Sort(done)
	want := slices.Sorted(slices.Values(publishes))
	if !slices.Equal(done, want) {
		t.Errorf("exercised %v, want every method of publishes %v", done, want)
	}
}
