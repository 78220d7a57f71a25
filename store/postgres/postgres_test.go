package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/agentmcp/agentmcp/internal/pgtest"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/postgres"
	"github.com/agentmcp/agentmcp/store/storetest"
)

func open(t *testing.T, url string, opt postgres.Options) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), url, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	pgtest.URL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, pgtest.NewDatabase(t), postgres.Options{})
	})
}

// Two replicas on one database see each other's agent writes.
func TestTwoStores(t *testing.T) {
	url := pgtest.NewDatabase(t)
	storetest.TwoStores(t, open(t, url, postgres.Options{}), open(t, url, postgres.Options{}))
}

func TestMigrateOnceConcurrently(t *testing.T) {
	url := pgtest.NewDatabase(t)
	storetest.MigratesOnce(t, 6, func() (storetest.Migrator, error) {
		return postgres.Open(context.Background(), url, postgres.Options{MaxConns: 2})
	})
}

func TestRefusesNewerSchema(t *testing.T) {
	url := pgtest.NewDatabase(t)
	open(t, url, postgres.Options{}).Close()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	known, _ := postgres.Migrations()
	if _, err := conn.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future', 0)", len(known)+1); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	_, err = postgres.Open(ctx, url, postgres.Options{})
	var tooNew store.SchemaTooNewError
	if !errors.As(err, &tooNew) {
		t.Fatalf("Open on a newer schema: %v", err)
	}
}

func TestNoMigrate(t *testing.T) {
	url := pgtest.NewDatabase(t)
	st := open(t, url, postgres.Options{NoMigrate: true})
	ms, err := st.MigrationStatus(context.Background())
	if err != nil || len(ms) == 0 || ms[0].Applied {
		t.Fatalf("status without migrating: %+v, %v", ms, err)
	}
}

// BenchmarkOps: scripts/test-postgres.sh go test -run x -bench Ops ./store/postgres
func BenchmarkOps(b *testing.B) {
	st, err := postgres.Open(context.Background(), pgtest.NewDatabase(b), postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	storetest.BenchOps(b, st)
}

// BenchmarkAgentChurn: scripts/test-postgres.sh go test -run x -bench AgentChurn ./store/postgres
func BenchmarkAgentChurn(b *testing.B) {
	st, err := postgres.Open(context.Background(), pgtest.NewDatabase(b), postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	storetest.BenchAgentChurn(b, st)
}
