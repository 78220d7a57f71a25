package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/agentmcp/agentmcp/store"
)

// RunRegistry runs the registry cases alone (for a backend in another configuration).
func RunRegistry(t *testing.T, open Opener) {
	t.Run("RegistrySwitch", func(t *testing.T) { testRegistrySwitch(t, open(t)) })
	t.Run("RegistryList", func(t *testing.T) { testRegistryList(t, open(t)) })
}

func listRegistry(t *testing.T, st store.Store, app string, q store.RegistryQuery) ([]string, []string) {
	t.Helper()
	p, err := st.ListRegistry(context.Background(), app, q)
	if err != nil {
		t.Fatalf("ListRegistry(%q, %+v): %v", app, q, err)
	}
	uids := make([]string, len(p.Agents))
	for i, a := range p.Agents {
		uids[i] = a.UID
	}
	return slugs(p.Servers), uids
}

// testRegistrySwitch: off by default, on and off at once, a missing app alike.
func testRegistrySwitch(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustCreate(t, st, "a", "s")
	q := store.RegistryQuery{Limit: 10}
	if on, err := st.RegistryEnabled(ctx, "a"); on || err != nil {
		t.Fatalf("a new app: RegistryEnabled = %v, %v; want off", on, err)
	}
	if _, err := st.ListRegistry(ctx, "a", q); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("off: ListRegistry = %v, want ErrNotFound", err)
	}
	if err := st.SetRegistry(ctx, "a", true); err != nil {
		t.Fatal(err)
	}
	if on, err := st.RegistryEnabled(ctx, "a"); !on || err != nil {
		t.Fatalf("after on: RegistryEnabled = %v, %v", on, err)
	}
	if s, a := listRegistry(t, st, "a", q); !slices.Equal(s, []string{"s"}) || len(a) != 0 {
		t.Fatalf("on: servers %v, agents %v", s, a)
	}
	if err := st.SetRegistry(ctx, "a", true); err != nil {
		t.Fatalf("on twice: %v", err)
	}
	if err := st.SetRegistry(ctx, "a", false); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ListRegistry(ctx, "a", q); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("off again: ListRegistry = %v, want ErrNotFound", err)
	}
	if _, err := st.RegistryEnabled(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing app: RegistryEnabled = %v", err)
	}
	if _, err := st.ListRegistry(ctx, "nope", q); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing app: ListRegistry = %v", err)
	}
	if err := st.SetRegistry(ctx, "nope", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing app: SetRegistry = %v", err)
	}
}

// testRegistryList: byte order (which a natural-language collation would not give for these
// keys), keyset pages, exact keys, search, updatedSince, health, tenancy, deletes at once.
func testRegistryList(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustApp(t, st, "b")
	keys := []string{"ab", "a_b", "a-c", "a0", "b", "a-b"}
	want := []string{"a-b", "a-c", "a0", "a_b", "ab", "b"}
	for _, k := range keys {
		mustCreate(t, st, "a", k)
		mustAgent(t, st, "a", k)
	}
	mustCreate(t, st, "b", "other")
	mustAgent(t, st, "b", "other")
	for _, app := range []string{"a", "b"} {
		if err := st.SetRegistry(ctx, app, true); err != nil {
			t.Fatal(err)
		}
	}
	s, a := listRegistry(t, st, "a", store.RegistryQuery{Limit: 100})
	if !slices.Equal(s, want) || !slices.Equal(a, want) {
		t.Fatalf("order: servers %v, agents %v; want %v", s, a, want)
	}

	var walked []string
	r := store.RegistryRange{}
	for range len(want) + 1 {
		s, _ := listRegistry(t, st, "a", store.RegistryQuery{Servers: r, Agents: store.RegistryRange{Skip: true}, Limit: 4})
		walked = append(walked, s...)
		if len(s) < 4 {
			break
		}
		r.After = s[len(s)-1]
	}
	if !slices.Equal(walked, want) {
		t.Fatalf("pages of 4: %v", walked)
	}
	if _, a := listRegistry(t, st, "a", store.RegistryQuery{Servers: store.RegistryRange{Skip: true}, Agents: store.RegistryRange{After: "a_b"}, Limit: 10}); !slices.Equal(a, []string{"ab", "b"}) {
		t.Fatalf("agents after a_b: %v", a)
	}

	one := store.RegistryQuery{Servers: store.RegistryRange{Key: "a0", After: "zzz"}, Agents: store.RegistryRange{Key: "a0"}, Limit: 10}
	if s, a := listRegistry(t, st, "a", one); !slices.Equal(s, []string{"a0"}) || !slices.Equal(a, []string{"a0"}) {
		t.Fatalf("key a0: %v %v", s, a)
	}
	if s, a := listRegistry(t, st, "a", store.RegistryQuery{Servers: store.RegistryRange{Key: "other"}, Agents: store.RegistryRange{Key: "other"}, Limit: 10}); len(s)+len(a) != 0 {
		t.Fatalf("another app's key: %v %v", s, a)
	}

	if _, _, err := st.UpdateMCPServer(ctx, "a", "b", store.MCPServerPatch{Description: ptr("Forecasts for ÉTÉ and Winter")}, store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	for term, wantS := range map[string][]string{
		"WINTER":  {"b"},   // description, any case
		"server ": want,    // name ("Server <slug>")
		"a_":      {"a_b"}, // key; _ is no wildcard
		"-c":      {"a-c"}, //
		"%":       nil,     // nor is %
		"zzz":     nil,     //
		"a0":      {"a0"},  //
		"er a-":   {"a-b", "a-c"},
	} {
		s, _ := listRegistry(t, st, "a", store.RegistryQuery{Search: term, Agents: store.RegistryRange{Skip: true}, Limit: 10})
		if !slices.Equal(s, wantS) {
			t.Errorf("search %q: %v, want %v", term, s, wantS)
		}
	}
	if _, a := listRegistry(t, st, "a", store.RegistryQuery{Search: "AGENT A_", Servers: store.RegistryRange{Skip: true}, Limit: 10}); !slices.Equal(a, []string{"a_b"}) {
		t.Errorf("agent search: %v", a)
	}

	cur, _ := st.GetMCPServer(ctx, "a", "b")
	for _, since := range []int64{cur.UpdatedAt - 1, cur.UpdatedAt, cur.CreatedAt} {
		var wantS []string // updatedAt greater than since, exclusive like the official registry's
		for _, k := range want {
			if m, _ := st.GetMCPServer(ctx, "a", k); m.UpdatedAt > since {
				wantS = append(wantS, k)
			}
		}
		if s, _ := listRegistry(t, st, "a", store.RegistryQuery{UpdatedSince: since, Agents: store.RegistryRange{Skip: true}, Limit: 10}); !slices.Equal(s, wantS) {
			t.Fatalf("updated since %d: %v, want %v", since, s, wantS)
		}
	}

	if err := st.SaveProbe(ctx, "a", "a0", store.ProbeRecord{Status: "ok", CheckedAt: 1000, ToolCount: 3}); err != nil {
		t.Fatal(err)
	}
	p, err := st.ListRegistry(ctx, "a", one)
	if err != nil || len(p.Servers) != 1 || p.Servers[0].Health == nil || *p.Servers[0].Health != (store.Health{Status: "ok", CheckedAt: 1000, ToolCount: 3}) {
		t.Fatalf("health: %+v, %v", p, err)
	}
	if len(p.Agents) != 1 || p.Agents[0].Name != "Agent a0" || !p.Agents[0].IsActive {
		t.Fatalf("agent: %+v", p.Agents)
	}

	if err := st.DeleteMCPServer(ctx, "a", "a0", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteAgent(ctx, "a", "a0", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if s, a := listRegistry(t, st, "a", one); len(s)+len(a) != 0 {
		t.Fatalf("deleted: %v %v", s, a)
	}
}
