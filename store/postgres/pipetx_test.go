package postgres

import (
	"context"
	"testing"

	"github.com/agentmcp/agentmcp/internal/pgtest"
	"github.com/agentmcp/agentmcp/store/internal/sqlstore"
)

// TestPipeTx: a deferred write is seen by the transaction's next statement, goes with the
// COMMIT otherwise, and one that fails undoes the whole transaction.
func TestPipeTx(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.NewDatabase(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.pool.Exec(ctx, "CREATE TABLE pt (k TEXT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		t.Helper()
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM pt").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	err = s.inPipeTx(ctx, func(q sqlstore.Querier) error {
		q.(sqlstore.Deferrer).Defer("INSERT INTO pt VALUES (?)", "a")
		var n int
		if err := q.QueryRow(ctx, "SELECT count(*) FROM pt").Scan(&n); err != nil || n != 1 {
			t.Fatalf("the deferred insert is not seen by the next statement: %d, %v", n, err)
		}
		q.(sqlstore.Deferrer).Defer("INSERT INTO pt VALUES (?)", "b")
		return nil
	})
	if err != nil || count() != 2 {
		t.Fatalf("committed: %v, %d rows", err, count())
	}
	err = s.inPipeTx(ctx, func(q sqlstore.Querier) error {
		if _, err := q.Exec(ctx, "INSERT INTO pt VALUES (?)", "c"); err != nil {
			return err
		}
		q.(sqlstore.Deferrer).Defer("INSERT INTO pt VALUES (?)", "a") // taken: fails at COMMIT
		return nil
	})
	if err == nil || count() != 2 {
		t.Fatalf("a failing deferred write: %v, %d rows (want an error and 2)", err, count())
	}
	// The connection went back to the pool usable.
	for range 8 {
		if err := s.inPipeTx(ctx, func(q sqlstore.Querier) error { _, err := q.Exec(ctx, "SELECT 1"); return err }); err != nil {
			t.Fatal(err)
		}
	}
}
