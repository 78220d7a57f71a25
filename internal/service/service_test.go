package service_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/agentmcp/agentmcp/internal/service"
	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/sqlite"
)

type changes []store.Change

func (c *changes) Publish(ch store.Change) { *c = append(*c, ch) }

type probes []store.ServerRef

func (p *probes) Enqueue(r store.ServerRef) bool { *p = append(*p, r); return true }

// fixture is a service over a real SQLite store behind store.Publishing, as internal/app
// wires it, with what it published and enqueued recorded.
type fixture struct {
	db      *sqlite.Store
	svc     *service.Service
	changes changes
	probes  probes
}

func newFixture(t *testing.T, maxServers int) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.CreateApp(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.Open(ctx, db, "base64key://AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close() })
	f := &fixture{db: db}
	pub := store.Publishing(db, &f.changes)
	f.svc = service.New(pub, service.Options{Credentials: &keyring.Service{Ring: ring, Store: db}, Probes: &f.probes, MaxServers: maxServers})
	return f
}

func (f *fixture) audit(t *testing.T) []store.AuditEvent {
	t.Helper()
	ev, err := f.db.ListAuditEvents(context.Background(), "app", store.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func ptr[T any](v T) *T { return &v }

// TestEachWriteHasItsSideEffectsOnce: every write of the service, once successful, leaves
// exactly one audit event (registry settings and probe results: none), publishes at most one change and
// enqueues a probe exactly when what a probe finds may have changed (a new server, a new
// URL, new credentials); the credentials are sealed, and no audit event shows the token.
func TestEachWriteHasItsSideEffectsOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	if _, err := f.svc.CreateAgent(ctx, store.Agent{AppID: "app", UID: "a", Name: "A", RagVersion: "v2"}); err != nil {
		t.Fatal(err)
	}
	const token = "tok-secret-1234"
	var keyID string
	writes := []struct {
		name          string
		audit, change int
		probe         bool
		do            func() error
	}{
		{"CreateServer", 1, 1, true, func() error {
			_, err := f.svc.CreateServer(ctx, "app", service.NewServer{Slug: "s", Name: "S", URL: "https://s.example.com/mcp",
				Auth: &keyring.Credentials{Type: keyring.AuthBearer, Token: token}})
			return err
		}},
		{"UpdateServer name", 1, 1, false, func() error {
			_, err := f.svc.UpdateServer(ctx, "app", "s", service.ServerPatch{Name: ptr("S2")}, store.Precondition{})
			return err
		}},
		{"UpdateServer url", 1, 1, true, func() error {
			_, err := f.svc.UpdateServer(ctx, "app", "s", service.ServerPatch{URL: ptr("https://t.example.com/mcp")}, store.Precondition{})
			return err
		}},
		{"UpdateServer credentials", 1, 1, true, func() error {
			_, err := f.svc.UpdateServer(ctx, "app", "s", service.ServerPatch{Auth: &keyring.Credentials{Type: keyring.AuthBearer, Token: token + "2"}}, store.Precondition{})
			return err
		}},
		{"SaveProbe", 0, 1, false, func() error {
			return f.svc.SaveProbe(ctx, "app", "s", store.ProbeRecord{Status: "ok", CheckedAt: 1, Tools: []byte(`[]`)})
		}},
		{"AttachServers", 1, 1, false, func() error { _, err := f.svc.AttachServers(ctx, "app", "a", []string{"s"}); return err }},
		{"DetachServers", 1, 1, false, func() error { _, err := f.svc.DetachServers(ctx, "app", "a", []string{"s"}); return err }},
		{"UpdateAgent", 1, 1, false, func() error {
			_, err := f.svc.UpdateAgent(ctx, "app", "a", store.AgentPatch{Name: ptr("A2")}, store.Precondition{})
			return err
		}},
		{"CreateAgentKey", 1, 0, false, func() error {
			k, secret, err := f.svc.CreateAgentKey(ctx, "app", "a", "ci")
			keyID = k.ID
			if err == nil && (secret == "" || k.AgentUID != "a" || k.Scope != store.ScopeAgent) {
				err = errors.New("not an agent key with a secret")
			}
			return err
		}},
		{"RevokeAgentKey", 1, 1, false, func() error { return f.svc.RevokeAgentKey(ctx, "app", "a", keyID) }}, // the key caches hear of it (store.ChangeKey)
		{"SetRegistry", 0, 0, false, func() error { return f.svc.SetRegistry(ctx, "app", true) }},
		{"DeleteServer", 1, 1, false, func() error { return f.svc.DeleteServer(ctx, "app", "s", store.Precondition{}) }},
		{"DeleteAgent", 1, 1, false, func() error { return f.svc.DeleteAgent(ctx, "app", "a", store.Precondition{}) }},
	}
	for _, w := range writes {
		before := len(f.audit(t))
		f.changes, f.probes = nil, nil
		if err := w.do(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if n := len(f.audit(t)) - before; n != w.audit {
			t.Errorf("%s: %d audit events, want %d", w.name, n, w.audit)
		}
		if len(f.changes) != w.change {
			t.Errorf("%s: published %+v, want %d change", w.name, f.changes, w.change)
		}
		if got := len(f.probes) == 1; got != w.probe || len(f.probes) > 1 {
			t.Errorf("%s: enqueued %+v, want a probe: %v", w.name, f.probes, w.probe)
		}
		if w.name == "CreateServer" {
			if _, sealed, err := f.db.GetCredentials(ctx, "app", "s"); err != nil || sealed.KeyID == "" {
				t.Errorf("credentials not sealed: %+v, %v", sealed, err)
			}
		}
	}
	for _, e := range f.audit(t) {
		if bytes.Contains(e.Before, []byte(token)) || bytes.Contains(e.After, []byte(token)) {
			t.Errorf("audit event %s shows the token", e.Action)
		}
	}
}

// TestRefusedWritesLeaveNothing: a write refused by the service (credentials that do not
// validate, the app's limit of servers, an agent's limit of keys, a key it does not have)
// writes, audits, publishes and enqueues nothing.
func TestRefusedWritesLeaveNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1)
	if _, err := f.svc.CreateAgent(ctx, store.Agent{AppID: "app", UID: "a", Name: "A", RagVersion: "v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateServer(ctx, "app", service.NewServer{Slug: "s", Name: "S", URL: "https://s.example.com/mcp"}); err != nil {
		t.Fatal(err)
	}
	small := service.New(store.Publishing(f.db, &f.changes), service.Options{Probes: &f.probes, MaxAgentKeys: 1})
	if _, _, err := small.CreateAgentKey(ctx, "app", "a", ""); err != nil {
		t.Fatal(err)
	}
	var invalid *service.InvalidCredentialsError
	var limit *service.LimitError
	refusals := []struct {
		name string
		ok   func(error) bool
		do   func() error
	}{
		{"invalid credentials", func(err error) bool { return errors.As(err, &invalid) && invalid.Problems[0].Field == "auth.token" }, func() error {
			_, err := f.svc.CreateServer(ctx, "app", service.NewServer{Slug: "t", Name: "T", URL: "https://t.example.com/mcp", Auth: &keyring.Credentials{Type: keyring.AuthBearer}})
			return err
		}},
		{"no keeper", func(err error) bool { return errors.Is(err, keyring.ErrNoKeeper) }, func() error {
			_, err := small.UpdateServer(ctx, "app", "s", service.ServerPatch{Auth: &keyring.Credentials{Type: keyring.AuthBearer, Token: "x"}}, store.Precondition{})
			return err
		}},
		{"servers limit", func(err error) bool {
			return errors.As(err, &limit) && limit.Limit == 1 && errors.Is(err, store.ErrLimitReached)
		}, func() error {
			_, err := f.svc.CreateServer(ctx, "app", service.NewServer{Slug: "t", Name: "T", URL: "https://t.example.com/mcp"})
			return err
		}},
		{"keys limit", func(err error) bool { return errors.As(err, &limit) && limit.Limit == 1 }, func() error {
			_, _, err := small.CreateAgentKey(ctx, "app", "a", "")
			return err
		}},
		{"no such key", func(err error) bool { return errors.Is(err, service.ErrNoSuchKey) }, func() error {
			return f.svc.RevokeAgentKey(ctx, "app", "a", "nokey")
		}},
		{"no such agent", func(err error) bool { return errors.Is(err, store.ErrNotFound) }, func() error {
			_, _, err := f.svc.CreateAgentKey(ctx, "app", "b", "")
			return err
		}},
	}
	for _, r := range refusals {
		before := len(f.audit(t))
		f.changes, f.probes = nil, nil
		if err := r.do(); !r.ok(err) {
			t.Errorf("%s: %v", r.name, err)
		}
		if n := len(f.audit(t)) - before; n != 0 || len(f.changes) != 0 || len(f.probes) != 0 {
			t.Errorf("%s: %d audit events, changes %+v, probes %+v; want none", r.name, n, f.changes, f.probes)
		}
	}
}
