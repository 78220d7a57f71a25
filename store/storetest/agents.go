package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/agentmcp/agentmcp/store"
)

func mustAgent(t *testing.T, st store.Store, app, uid string, mcps ...string) store.Agent {
	t.Helper()
	a, err := st.CreateAgent(context.Background(), store.Agent{AppID: app, UID: uid, Name: "Agent " + uid, RagVersion: "v2", IsActive: true, MCPServers: mcps})
	if err != nil {
		t.Fatalf("CreateAgent(%q): %v", uid, err)
	}
	return a
}

func testAgentCRUD(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustCreate(t, st, "a", "s1")
	mustCreate(t, st, "a", "s2")
	in := store.Agent{
		AppID: "a", UID: "bot", Name: "Bot", Icon: "https://i.example.com/x.png", IsActive: true, Description: "d",
		Tools: []string{"gmail", "slack"}, Websites: []string{"https://w.example.com"}, RagVersion: "v1",
		Instruction: "be nice", MetaData: map[string]any{"k": "v", "n": float64(2)}, Model: "gpt-4o-mini",
		MCPServers: []string{"s2", "s1", "s2"},
	}
	a, err := st.CreateAgent(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if a.UID != "bot" || a.Name != "Bot" || !a.IsActive || a.RagVersion != "v1" || a.Model != "gpt-4o-mini" || a.LastMessageAt != nil ||
		!slices.Equal(a.Tools, in.Tools) || !slices.Equal(a.MCPServers, []string{"s2", "s1"}) || a.Files == nil || len(a.Files) != 0 ||
		a.MetaData["k"] != "v" || a.MetaData["n"] != float64(2) || a.ModelMetaData == nil || a.CreatedAt == 0 || a.UpdatedAt != a.CreatedAt {
		t.Fatalf("created %+v", a)
	}
	got, err := st.GetAgent(ctx, "a", "bot")
	if err != nil || fmt.Sprint(got) != fmt.Sprint(a) {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, a)
	}
	if _, err := st.CreateAgent(ctx, store.Agent{AppID: "a", UID: "bot", Name: "again"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate uid: %v", err)
	}
	var unknown *store.UnknownMCPServersError
	if _, err := st.CreateAgent(ctx, store.Agent{AppID: "a", UID: "bot2", Name: "x", MCPServers: []string{"s1", "ghost", "s2", "boo"}}); !errors.As(err, &unknown) ||
		!slices.Equal(unknown.Slugs, []string{"ghost", "boo"}) || !slices.Equal(unknown.Indexes, []int{1, 3}) {
		t.Fatalf("unknown servers on create: %v", err)
	}
	if _, err := st.GetAgent(ctx, "a", "bot2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a create refused for unknown servers left an agent behind")
	}

	same, err := st.UpdateAgent(ctx, "a", "bot", store.AgentPatch{Name: ptr("Bot"), Tools: &[]string{"gmail", "slack"}}, store.Precondition{})
	if err != nil || same.UpdatedAt != a.UpdatedAt {
		t.Fatalf("a no-op patch changed updatedAt: %+v, %v", same, err)
	}
	up, err := st.UpdateAgent(ctx, "a", "bot", store.AgentPatch{IsActive: ptr(false), Files: &[]string{"f"}, MetaData: &map[string]any{}}, store.Precondition{})
	if err != nil || up.IsActive || !slices.Equal(up.Files, []string{"f"}) || len(up.MetaData) != 0 || up.Name != "Bot" || up.UpdatedAt <= a.UpdatedAt {
		t.Fatalf("patch: %+v, %v", up, err)
	}
	repl, err := st.UpdateAgent(ctx, "a", "bot", store.AgentPatch{MCPServers: &[]string{"s1"}}, store.Precondition{})
	if err != nil || !slices.Equal(repl.MCPServers, []string{"s1"}) || repl.UpdatedAt <= up.UpdatedAt {
		t.Fatalf("replace mcpServers: %+v, %v", repl, err)
	}
	if _, err := st.UpdateAgent(ctx, "a", "bot", store.AgentPatch{Name: ptr("x"), MCPServers: &[]string{"ghost"}}, store.Precondition{}); !errors.As(err, &unknown) {
		t.Fatalf("patch with unknown servers: %v", err)
	}
	if g, _ := st.GetAgent(ctx, "a", "bot"); g.Name != "Bot" {
		t.Fatal("a refused patch changed the agent")
	}
	if _, err := st.UpdateAgent(ctx, "a", "nobody", store.AgentPatch{Name: ptr("x")}, store.Precondition{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("patch missing: %v", err)
	}
	if err := st.DeleteAgent(ctx, "a", "bot", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteAgent(ctx, "a", "bot", store.Precondition{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	// The servers the agent used are untouched, and can be deleted freely.
	if _, err := st.GetMCPServer(ctx, "a", "s1"); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

func testAttachDetach(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	for _, s := range []string{"s1", "s2", "s3", "s4"} {
		mustCreate(t, st, "a", s)
	}
	a := mustAgent(t, st, "a", "bot")

	got, err := st.AttachMCPServers(ctx, "a", "bot", []string{"s3", "s1", "s3"})
	if err != nil || !slices.Equal(got.MCPServers, []string{"s3", "s1"}) || got.UpdatedAt <= a.UpdatedAt {
		t.Fatalf("attach: %+v, %v", got, err)
	}
	again, err := st.AttachMCPServers(ctx, "a", "bot", []string{"s1", "s3"})
	if err != nil || !slices.Equal(again.MCPServers, []string{"s3", "s1"}) || again.UpdatedAt != got.UpdatedAt {
		t.Fatalf("attach of attached servers changed the agent: %+v, %v", again, err)
	}
	var unknown *store.UnknownMCPServersError
	if _, err := st.AttachMCPServers(ctx, "a", "bot", []string{"s2", "nope", "s4", "zip"}); !errors.As(err, &unknown) || !slices.Equal(unknown.Slugs, []string{"nope", "zip"}) {
		t.Fatalf("attach unknown: %v", err)
	}
	if cur, _ := st.GetAgent(ctx, "a", "bot"); !slices.Equal(cur.MCPServers, []string{"s3", "s1"}) || cur.UpdatedAt != got.UpdatedAt {
		t.Fatalf("a refused attach changed the agent: %+v", cur)
	}
	more, _ := st.AttachMCPServers(ctx, "a", "bot", []string{"s2", "s1"})
	if !slices.Equal(more.MCPServers, []string{"s3", "s1", "s2"}) {
		t.Fatalf("order of first attachment not kept: %v", more.MCPServers)
	}
	det, err := st.DetachMCPServers(ctx, "a", "bot", []string{"s1", "s4", "nope"})
	if err != nil || !slices.Equal(det.MCPServers, []string{"s3", "s2"}) || det.UpdatedAt <= more.UpdatedAt {
		t.Fatalf("detach: %+v, %v", det, err)
	}
	noop, err := st.DetachMCPServers(ctx, "a", "bot", []string{"s1", "s4"})
	if err != nil || noop.UpdatedAt != det.UpdatedAt || !slices.Equal(noop.MCPServers, det.MCPServers) {
		t.Fatalf("detach of unattached: %+v, %v", noop, err)
	}
	re, _ := st.AttachMCPServers(ctx, "a", "bot", []string{"s1"})
	if !slices.Equal(re.MCPServers, []string{"s3", "s2", "s1"}) {
		t.Fatalf("re-attached server not last: %v", re.MCPServers)
	}
	servers, err := st.AgentMCPServers(ctx, "a", "bot")
	if err != nil || len(servers) != 3 || servers[0].Slug != "s3" || servers[2].Slug != "s1" || servers[0].URL == "" {
		t.Fatalf("AgentMCPServers: %+v, %v", servers, err)
	}
	for _, f := range []func() error{
		func() error { _, err := st.AttachMCPServers(ctx, "a", "nobody", []string{"s1"}); return err },
		func() error { _, err := st.DetachMCPServers(ctx, "a", "nobody", []string{"s1"}); return err },
		func() error { _, err := st.AgentMCPServers(ctx, "a", "nobody"); return err },
	} {
		if err := f(); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing agent: %v", err)
		}
	}
}

func testDeleteDetaches(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustApp(t, st, "b")
	mustCreate(t, st, "a", "s1")
	mustCreate(t, st, "a", "s2")
	mustCreate(t, st, "b", "s1")
	x := mustAgent(t, st, "a", "x", "s1", "s2")
	y := mustAgent(t, st, "a", "y", "s2")
	z := mustAgent(t, st, "b", "z", "s1")
	if err := st.DeleteMCPServer(ctx, "a", "s1", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	gx, _ := st.GetAgent(ctx, "a", "x")
	gy, _ := st.GetAgent(ctx, "a", "y")
	gz, _ := st.GetAgent(ctx, "b", "z")
	if !slices.Equal(gx.MCPServers, []string{"s2"}) || gx.UpdatedAt <= x.UpdatedAt {
		t.Fatalf("x after delete: %+v", gx)
	}
	if fmt.Sprint(gy) != fmt.Sprint(y) {
		t.Fatalf("y did not have s1 and changed: %+v", gy)
	}
	if fmt.Sprint(gz) != fmt.Sprint(z) {
		t.Fatalf("another app's agent changed: %+v", gz)
	}
	// A new server with the old slug is not attached to anyone.
	mustCreate(t, st, "a", "s1")
	if gx, _ := st.GetAgent(ctx, "a", "x"); !slices.Equal(gx.MCPServers, []string{"s2"}) {
		t.Fatalf("a recreated slug came back attached: %v", gx.MCPServers)
	}
}

func testAgentTenancy(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustApp(t, st, "b")
	mustCreate(t, st, "a", "theirs")
	mustAgent(t, st, "a", "bot")
	mustAgent(t, st, "b", "mine")
	var unknown *store.UnknownMCPServersError
	if _, err := st.AttachMCPServers(ctx, "b", "mine", []string{"theirs"}); !errors.As(err, &unknown) {
		t.Fatalf("b attached a's server: %v", err)
	}
	if _, err := st.CreateAgent(ctx, store.Agent{AppID: "b", UID: "m2", Name: "m", MCPServers: []string{"theirs"}}); !errors.As(err, &unknown) {
		t.Fatalf("b created an agent with a's server: %v", err)
	}
	if _, err := st.GetAgent(ctx, "b", "bot"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b read a's agent: %v", err)
	}
	if err := st.DeleteAgent(ctx, "b", "bot", store.Precondition{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b deleted a's agent: %v", err)
	}
	if l, _ := st.ListAgents(ctx, "b", store.Page{Limit: 100}); len(l) != 1 || l[0].UID != "mine" {
		t.Fatalf("b lists %+v", l)
	}
	mustAgent(t, st, "b", "bot") // the same uid in another app is fine
}

func testAgentPagination(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	const n = 57
	var want []string
	for i := range n {
		a := mustAgent(t, st, "a", fmt.Sprintf("a%02d", i))
		want = append([]string{a.UID}, want...)
		mustCreate(t, st, "a", fmt.Sprintf("s%02d", i)) // servers share the app clock
	}
	var got []string
	p := store.Page{Limit: 10}
	for {
		page, err := st.ListAgents(ctx, "a", p)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, a := range page {
			got = append(got, a.UID)
		}
		p = store.Page{Limit: 10, Affix: store.AffixAppend, CreatedAt: page[len(page)-1].CreatedAt}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("agent pages: %v", got)
	}
	newer, _ := st.ListAgents(ctx, "a", store.Page{Limit: 3, Affix: store.AffixPrepend, CreatedAt: 0})
	if len(newer) != 3 || newer[0].UID != "a02" || newer[2].UID != "a00" {
		t.Fatalf("prepend from the start: %v", newer)
	}
}

// testConcurrentAttachDetach: many writers adding and removing different slugs on one agent
// never lose an update: the end state is what their last acknowledged operations say.
func testConcurrentAttachDetach(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	const workers = 24
	for w := range workers {
		mustCreate(t, st, "a", fmt.Sprintf("c%02d", w))
	}
	mustAgent(t, st, "a", "bot")
	final := make([]bool, workers)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			slug := fmt.Sprintf("c%02d", w)
			for i := range 6 {
				attach := (i+w)%3 != 0
				var err error
				if attach {
					_, err = st.AttachMCPServers(ctx, "a", "bot", []string{slug})
				} else {
					_, err = st.DetachMCPServers(ctx, "a", "bot", []string{slug})
				}
				if err != nil {
					errs <- err
					return
				}
				final[w] = attach
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var want []string
	for w, on := range final {
		if on {
			want = append(want, fmt.Sprintf("c%02d", w))
		}
	}
	a, _ := st.GetAgent(ctx, "a", "bot")
	got := slices.Clone(a.MCPServers)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Fatalf("after concurrent attach/detach: %v, want %v", got, want)
	}
}

// testDeleteRacesAttach: attaching a server while it is deleted never leaves it dangling.
func testDeleteRacesAttach(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	const agents = 8
	for i := range agents {
		mustAgent(t, st, "a", fmt.Sprintf("r%d", i))
	}
	for round := range 10 {
		slug := fmt.Sprintf("victim-%d", round)
		mustCreate(t, st, "a", slug)
		var wg sync.WaitGroup
		for i := range agents {
			wg.Go(func() {
				_, err := st.AttachMCPServers(ctx, "a", fmt.Sprintf("r%d", i), []string{slug})
				var unknown *store.UnknownMCPServersError
				if err != nil && !errors.As(err, &unknown) {
					t.Error(err)
				}
			})
		}
		wg.Go(func() {
			if err := st.DeleteMCPServer(ctx, "a", slug, store.Precondition{}); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		for i := range agents {
			a, _ := st.GetAgent(ctx, "a", fmt.Sprintf("r%d", i))
			if slices.Contains(a.MCPServers, slug) {
				t.Fatalf("round %d: agent r%d lists deleted %s", round, i, slug)
			}
		}
	}
}

// testConcurrentSameAttach: many writers attaching (and detaching) the same slug to the same
// agent at once: no error, and it is attached once (PostgreSQL answered a duplicate key when
// a locking read that waited saw the attachments of before the wait).
func testConcurrentSameAttach(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	mustCreate(t, st, "a", "same")
	mustCreate(t, st, "a", "other")
	mustAgent(t, st, "a", "bot")
	Concurrently(t, 16, func(w int) error {
		for i := range 10 {
			var err error
			if w%4 == 3 && i%2 == 1 {
				_, err = st.DetachMCPServers(ctx, "a", "bot", []string{"other"})
			} else {
				_, err = st.AttachMCPServers(ctx, "a", "bot", []string{"same", "other"})
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if _, err := st.AttachMCPServers(ctx, "a", "bot", []string{"same", "other"}); err != nil {
		t.Fatal(err)
	}
	a, err := st.GetAgent(ctx, "a", "bot")
	if err != nil || len(a.MCPServers) != 2 || a.MCPServers[0] != "same" {
		t.Fatalf("after concurrent attaches of the same slugs: %v (%v)", a.MCPServers, err)
	}
}

// testAttachedListAgrees: the agent's list (agents.mcp_servers, issue 19) and its rows in
// agent_mcp_servers (AgentMCPServers) say the same, in the same order, after every kind of
// write that changes them, and an agent is read alike by GetAgent and ListAgents.
func testAttachedListAgrees(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	for i := range 6 {
		mustCreate(t, st, "a", fmt.Sprintf("s%d", i))
	}
	check := func(step string, want ...string) {
		t.Helper()
		a, err := st.GetAgent(ctx, "a", "bot")
		if err != nil {
			t.Fatal(err)
		}
		rows, err := st.AgentMCPServers(ctx, "a", "bot")
		if err != nil {
			t.Fatal(err)
		}
		var slugs []string
		for _, m := range rows {
			slugs = append(slugs, m.Slug)
		}
		l, _ := st.ListAgents(ctx, "a", store.Page{Limit: 10})
		if !slices.Equal(a.MCPServers, want) || !slices.Equal(slugs, want) || len(l) != 1 || fmt.Sprint(l[0]) != fmt.Sprint(a) {
			t.Fatalf("%s: agent lists %v, attachments %v, list reads %+v; want %v", step, a.MCPServers, slugs, l, want)
		}
	}
	mustAgent(t, st, "a", "bot", "s2", "s0", "s2")
	check("create", "s2", "s0")
	at, err := st.AttachMCPServers(ctx, "a", "bot", []string{"s4", "s0", "s1", "s4"})
	if err != nil || !slices.Equal(at.MCPServers, []string{"s2", "s0", "s4", "s1"}) {
		t.Fatalf("attach: %+v, %v", at, err)
	}
	check("attach", "s2", "s0", "s4", "s1")
	if cur, _ := st.GetAgent(ctx, "a", "bot"); fmt.Sprint(cur) != fmt.Sprint(at) {
		t.Fatalf("attach answered %+v, then reads %+v", at, cur)
	}
	de, err := st.DetachMCPServers(ctx, "a", "bot", []string{"s0", "s5"})
	if err != nil {
		t.Fatal(err)
	}
	check("detach", "s2", "s4", "s1")
	if cur, _ := st.GetAgent(ctx, "a", "bot"); fmt.Sprint(cur) != fmt.Sprint(de) || de.UpdatedAt <= at.UpdatedAt {
		t.Fatalf("detach answered %+v, then reads %+v", de, cur)
	}
	if err := st.DeleteMCPServer(ctx, "a", "s4", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	check("server delete", "s2", "s1")
	up, err := st.UpdateAgent(ctx, "a", "bot", store.AgentPatch{MCPServers: &[]string{"s3", "s1", "s3"}}, store.Precondition{})
	if err != nil || !slices.Equal(up.MCPServers, []string{"s3", "s1"}) {
		t.Fatalf("update: %+v, %v", up, err)
	}
	check("update", "s3", "s1")
	if _, err := st.AttachMCPServers(ctx, "a", "bot", []string{"s0"}); err != nil {
		t.Fatal(err)
	}
	check("attach after update", "s3", "s1", "s0")
	if _, err := st.DetachMCPServers(ctx, "a", "bot", []string{"s3", "s1", "s0"}); err != nil {
		t.Fatal(err)
	}
	check("detach all")
}

// testCombinedChanges: concurrent attaches and detaches of one agent (applied together by
// the SQL stores) each answer the agent as their own change left it and leave their own
// audit event under their own actor, the events chaining (each one's before is the
// previous one's after); an attach of an unknown slug among them fails alone.
func testCombinedChanges(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	const n = 32
	for i := range n {
		mustCreate(t, st, "a", fmt.Sprintf("m%02d", i))
	}
	mustAgent(t, st, "a", "bot", "m00", "m01")
	Concurrently(t, n+1, func(i int) error {
		actx := store.WithActor(ctx, store.Actor{KeyID: "k", RequestID: fmt.Sprintf("req-%02d", i)})
		if i == n {
			_, err := st.AttachMCPServers(actx, "a", "bot", []string{"m05", "ghost"})
			var unknown *store.UnknownMCPServersError
			if !errors.As(err, &unknown) || len(unknown.Slugs) != 1 || unknown.Slugs[0] != "ghost" {
				return fmt.Errorf("attach with an unknown slug: %v, want it refused alone", err)
			}
			return nil
		}
		slug := fmt.Sprintf("m%02d", i)
		if i < 2 {
			got, err := st.DetachMCPServers(actx, "a", "bot", []string{slug})
			if err == nil && slices.Contains(got.MCPServers, slug) {
				err = fmt.Errorf("detach of %s answered %v", slug, got.MCPServers)
			}
			return err
		}
		got, err := st.AttachMCPServers(actx, "a", "bot", []string{slug})
		if err == nil && !slices.Contains(got.MCPServers, slug) {
			err = fmt.Errorf("attach of %s answered %v", slug, got.MCPServers)
		}
		return err
	})
	final, err := st.GetAgent(ctx, "a", "bot")
	if err != nil {
		t.Fatal(err)
	}
	if len(final.MCPServers) != n-2 {
		t.Fatalf("final list %v: want the %d attached", final.MCPServers, n-2)
	}
	events, afters := agentAuditChain(t, st, "a", "bot")
	seen := map[string]bool{}
	for i, e := range events[1:] {
		if seen[e.RequestID] || e.RequestID == "" {
			t.Fatalf("event %d has request id %q (twice, or none)", i+1, e.RequestID)
		}
		seen[e.RequestID] = true
	}
	last := afters[len(afters)-1]
	prev, lastAt := last.MCPServers, last.UpdatedAt
	if len(events) != n+1 || !slices.Equal(prev, final.MCPServers) || lastAt != final.UpdatedAt {
		t.Fatalf("%d events ending at %v (%d); want %d ending at the agent's %v (%d)", len(events), prev, lastAt, n+1, final.MCPServers, final.UpdatedAt)
	}
}

// testCombinedAcrossAgents: concurrent attaches and detaches of several agents of one app
// (the SQL stores apply an app's concurrent changes in one transaction) each answer their
// own agent as their change left it; an attach of an unknown slug, and the changes of an
// agent deleted meanwhile, fail alone, and the others' do not; every agent ends with what
// was attached to it, and each change leaves its own audit event on its own agent, the
// events chaining.
func testCombinedAcrossAgents(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	const agents, per = 6, 8
	for i := range per {
		mustCreate(t, st, "a", fmt.Sprintf("m%02d", i))
	}
	for i := range agents {
		mustAgent(t, st, "a", fmt.Sprintf("bot%d", i), "m00")
	}
	mustAgent(t, st, "a", "doomed", "m00")
	const changes = agents * per
	Concurrently(t, changes+per+2, func(i int) error {
		switch {
		case i == changes:
			_, err := st.AttachMCPServers(ctx, "a", "bot0", []string{"m01", "ghost"})
			var unknown *store.UnknownMCPServersError
			if !errors.As(err, &unknown) || !slices.Equal(unknown.Slugs, []string{"ghost"}) {
				return fmt.Errorf("attach with an unknown slug: %v, want it refused alone", err)
			}
			return nil
		case i == changes+1:
			return st.DeleteAgent(ctx, "a", "doomed", store.Precondition{})
		case i > changes+1:
			_, err := st.AttachMCPServers(ctx, "a", "doomed", []string{fmt.Sprintf("m%02d", i-changes-2)})
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("attach to an agent being deleted: %v, want success or ErrNotFound", err)
			}
			return nil
		}
		uid, slug := fmt.Sprintf("bot%d", i%agents), fmt.Sprintf("m%02d", i/agents)
		var got store.Agent
		var err error
		if slug == "m00" {
			got, err = st.DetachMCPServers(ctx, "a", uid, []string{slug})
		} else {
			got, err = st.AttachMCPServers(ctx, "a", uid, []string{slug})
		}
		if err == nil && (got.UID != uid || slices.Contains(got.MCPServers, slug) != (slug != "m00")) {
			err = fmt.Errorf("change of %s on %s answered %s with %v", slug, uid, got.UID, got.MCPServers)
		}
		return err
	})
	if _, err := st.GetAgent(ctx, "a", "doomed"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted agent: %v, want ErrNotFound", err)
	}
	var want []string
	for i := 1; i < per; i++ {
		want = append(want, fmt.Sprintf("m%02d", i))
	}
	for i := range agents {
		uid := fmt.Sprintf("bot%d", i)
		final, err := st.GetAgent(ctx, "a", uid)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Sorted(slices.Values(final.MCPServers)); !slices.Equal(got, want) {
			t.Fatalf("%s ends with %v, want %v", uid, final.MCPServers, want)
		}
		events, afters := agentAuditChain(t, st, "a", uid)
		for j, after := range afters {
			if after.UID != uid {
				t.Fatalf("%s event %d (%s) is of %s", uid, j, events[j].Action, after.UID)
			}
		}
		prev := afters[len(afters)-1].MCPServers
		if len(events) != 1+per || !slices.Equal(prev, final.MCPServers) {
			t.Fatalf("%s: %d events ending at %v; want %d ending at %v", uid, len(events), prev, 1+per, final.MCPServers)
		}
	}
}

// agentImage is what the chain checks of an agent's audit image.
type agentImage struct {
	UID        string   `json:"uid"`
	MCPServers []string `json:"mcpServers"`
	UpdatedAt  int64    `json:"updatedAt"`
}

// agentAuditChain is uid's audit events, oldest first, and their after-images; it fails t
// unless there is one, each event starts from what the one before it left, and each
// after-image's updatedAt is positive and later than the one before.
func agentAuditChain(t *testing.T, st store.Store, app, uid string) ([]store.AuditEvent, []agentImage) {
	t.Helper()
	events, err := st.ListAuditEvents(context.Background(), app, store.AuditQuery{Limit: 100, Target: store.AgentTarget(uid)})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 {
		t.Fatalf("%s has no audit events", uid)
	}
	slices.Reverse(events) // oldest first
	afters := make([]agentImage, len(events))
	var lastAt int64
	for i, e := range events {
		var before agentImage
		if e.Before != nil {
			if err := json.Unmarshal(e.Before, &before); err != nil {
				t.Fatal(err)
			}
		}
		if err := json.Unmarshal(e.After, &afters[i]); err != nil {
			t.Fatal(err)
		}
		if i > 0 && !slices.Equal(before.MCPServers, afters[i-1].MCPServers) {
			t.Fatalf("%s event %d (%s) starts from %v, the previous left %v", uid, i, e.Action, before.MCPServers, afters[i-1].MCPServers)
		}
		if afters[i].UpdatedAt <= lastAt {
			t.Fatalf("%s event %d: updatedAt %d after %d", uid, i, afters[i].UpdatedAt, lastAt)
		}
		lastAt = afters[i].UpdatedAt
	}
	return events, afters
}
