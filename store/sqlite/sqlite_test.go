package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/sqlite"
	"github.com/agentmcp/agentmcp/store/storetest"
)

func open(t *testing.T, path string, opt sqlite.Options) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, opt)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		st := open(t, filepath.Join(t.TempDir(), "a.db"), sqlite.Options{})
		t.Cleanup(func() { st.Close() })
		return st
	})
}

// Every read connection's page cache is 512 KiB (decisions.md, "#19 Read connections' page
// cache"); the writer keeps SQLite's default 2,000 KiB.
func TestPageCaches(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "a.db"), sqlite.Options{ReadConns: 4})
	t.Cleanup(func() { st.Close() })
	w, rs, err := sqlite.CacheSizes(context.Background(), st, 4)
	if err != nil {
		t.Fatal(err)
	}
	if w != -2000 {
		t.Errorf("writer's cache_size %d, want SQLite's default -2000", w)
	}
	for i, r := range rs {
		if r != -512 {
			t.Errorf("read connection %d: cache_size %d, want -512", i, r)
		}
	}
}

// Two stores on one file (two processes) see each other's agent writes.
func TestTwoStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	a, b := open(t, path, sqlite.Options{}), open(t, path, sqlite.Options{})
	t.Cleanup(func() { a.Close(); b.Close() })
	storetest.TwoStores(t, a, b)
}

func TestDataSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "dir", "a.db") // directories are created
	st := open(t, path, sqlite.Options{})
	if _, err := st.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	m, err := st.CreateMCPServer(ctx, "a", store.NewMCPServer{Slug: "s", Name: "S", URL: "https://s.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, path, sqlite.Options{})
	defer st.Close()
	got, err := st.GetMCPServer(ctx, "a", "s")
	if err != nil || got != m {
		t.Fatalf("after reopen: %+v, %v; want %+v", got, err, m)
	}
	// The clock survives too: a new record is newer than every old one.
	n, err := st.CreateMCPServer(ctx, "a", store.NewMCPServer{Slug: "t", Name: "T", URL: "https://t.example.com"})
	if err != nil || n.CreatedAt <= m.CreatedAt {
		t.Fatalf("createdAt after reopen: %d, old %d, %v", n.CreatedAt, m.CreatedAt, err)
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.db")

	fresh := open(t, path, sqlite.Options{NoMigrate: true})
	ms, err := fresh.MigrationStatus(ctx)
	if err != nil || len(ms) == 0 || ms[0].Applied {
		t.Fatalf("status of an unmigrated database: %+v, %v", ms, err)
	}
	fresh.Close()

	// Several processes' worth of Opens at once apply each migration exactly once.
	storetest.MigratesOnce(t, 4, func() (storetest.Migrator, error) { return sqlite.Open(ctx, path, sqlite.Options{}) })
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.db")
	st := open(t, path, sqlite.Options{})
	st.Close()
	known, _ := sqlite.Migrations()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)", len(known)+1); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err = sqlite.Open(ctx, path, sqlite.Options{})
	var tooNew store.SchemaTooNewError
	if !errors.As(err, &tooNew) || tooNew.Database != len(known)+1 {
		t.Fatalf("Open on a newer schema: %v", err)
	}
}

func BenchmarkOps(b *testing.B) {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "a.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	storetest.BenchOps(b, st)
}

// BenchmarkAgentChurn: go test -run x -bench AgentChurn ./store/sqlite
func BenchmarkAgentChurn(b *testing.B) {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "a.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	storetest.BenchAgentChurn(b, st)
}
