package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/sqlite"
)

// lockedDB opens a store on a fresh file and holds the database's write lock from another
// connection until the test ends, as another process would.
func lockedDB(t *testing.T, opt sqlite.Options) *sqlite.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.db")
	st := open(t, path, opt)
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := st.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateMCPServer(ctx, "a", store.NewMCPServer{Slug: "s", Name: "S", URL: "https://s.example.com"}); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.ExecContext(ctx, "ROLLBACK")
		conn.Close()
	})
	return st
}

// TestBusyIsUnavailable: a write that waited busy_timeout for another connection's lock is
// ErrUnavailable (a 503), and the SQLite error stays reachable under it.
func TestBusyIsUnavailable(t *testing.T) {
	st := lockedDB(t, sqlite.WithBusyTimeout(sqlite.Options{}, 50*time.Millisecond))
	ctx := context.Background()
	_, err := st.CreateMCPServer(ctx, "a", store.NewMCPServer{Slug: "t", Name: "T", URL: "https://t.example.com"})
	var se *msqlite.Error
	if !errors.Is(err, store.ErrUnavailable) || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
		t.Fatalf("write under another connection's lock: %v, want ErrUnavailable wrapping SQLITE_BUSY", err)
	}
	// Reads go on beside the lock (WAL).
	if _, err := st.GetMCPServer(ctx, "a", "s"); err != nil {
		t.Fatalf("read beside a held write lock: %v", err)
	}
}

// TestDeadlineWhileWaitingIsUnavailable: a request whose deadline ends while it waits for a
// lock is ErrUnavailable wrapping context.DeadlineExceeded, not an internal error.
func TestDeadlineWhileWaitingIsUnavailable(t *testing.T) {
	// A busy_timeout of an hour: a wait that ignored the deadline would outlast the test.
	st := lockedDB(t, sqlite.WithBusyTimeout(sqlite.Options{}, time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := st.UpdateMCPServer(ctx, "a", "s", store.MCPServerPatch{Name: new("late")}, store.Precondition{})
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("update out of time: %v, want ErrUnavailable wrapping context.DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > 5*time.Minute {
		t.Fatalf("the wait ignored the deadline: %v", waited)
	}
}
