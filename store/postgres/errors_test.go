package postgres_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agentmcp/agentmcp/internal/pgtest"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/postgres"
)

// lockedServer opens a store on a fresh database with one server, whose row another
// connection holds locked until the test ends.
func lockedServer(t *testing.T, opt postgres.Options) *postgres.Store {
	t.Helper()
	url := pgtest.NewDatabase(t)
	open(t, url, postgres.Options{}) // migrated without the test's short timeouts (a loaded machine is slow)
	opt.NoMigrate = true
	st := open(t, url, opt)
	ctx := context.Background()
	if _, err := st.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateMCPServer(ctx, "a", store.NewMCPServer{Slug: "s", Name: "S", URL: "https://s.example.com"}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1 FROM mcp_servers WHERE app_id = 'a' AND slug = 's' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	return st
}

// TestStatementTimeoutIsUnavailable: a statement that outlives statement_timeout is
// ErrUnavailable (a 503), classified by its SQLSTATE, and the PgError stays reachable.
func TestStatementTimeoutIsUnavailable(t *testing.T) {
	st := lockedServer(t, postgres.Options{StatementTimeout: 100 * time.Millisecond})
	_, _, err := st.UpdateMCPServer(context.Background(), "a", "s", store.MCPServerPatch{Name: new("n")}, store.Precondition{})
	var pe *pgconn.PgError
	if !errors.Is(err, store.ErrUnavailable) || !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("update past statement_timeout: %v, want ErrUnavailable wrapping SQLSTATE 57014", err)
	}
}

// TestDeadlineWhileWaitingIsUnavailable: a request whose deadline ends while it waits for a
// row lock is ErrUnavailable wrapping context.DeadlineExceeded, not an internal error.
func TestDeadlineWhileWaitingIsUnavailable(t *testing.T) {
	st := lockedServer(t, postgres.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := st.DeleteMCPServer(ctx, "a", "s", store.Precondition{})
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("delete out of time: %v, want ErrUnavailable wrapping context.DeadlineExceeded", err)
	}
}

// TestStoppedDatabaseIsUnavailable: with the database down every call is ErrUnavailable,
// the network or connect error stays reachable, and the store serves again once it is back.
func TestStoppedDatabaseIsUnavailable(t *testing.T) {
	cl := pgtest.StartCluster(t)
	ctx := context.Background()
	st := open(t, cl.URL, postgres.Options{})
	if _, err := st.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	cl.Stop(t)
	var ce *pgconn.ConnectError
	var ne net.Error
	for name, call := range map[string]func() error{
		"ping": func() error { return st.Ping(ctx) },
		"get":  func() error { _, err := st.GetMCPServer(ctx, "a", "s"); return err },
		"create": func() error {
			_, err := st.CreateMCPServer(ctx, "a", store.NewMCPServer{Slug: "s", Name: "S", URL: "https://s.example.com"})
			return err
		},
	} {
		err := call()
		cause := errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if !errors.Is(err, store.ErrUnavailable) || !cause {
			t.Errorf("%s with the database stopped: %v, want ErrUnavailable wrapping the connection error", name, err)
		}
	}
	cl.Start(t)
	deadline := time.Now().Add(30 * time.Second)
	for st.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("no recovery after the database came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
