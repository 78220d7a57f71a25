package postgres

import (
	"context"
	"slices"
	"testing"

	"github.com/agentmcp/agentmcp/internal/pgtest"
	"github.com/agentmcp/agentmcp/store/internal/sqlstore"
)

// TestPipeTx: a deferred write is seen by the transaction's next statement, goes with the
// COMMIT otherwise, and one that fails undoes the whole transaction; a deferred query is read
// with the next statement.
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
	// A deferred query is read when the next statement goes, in order with deferred writes,
	// and its failure is that statement's.
	err = s.inPipeTx(ctx, func(q sqlstore.Querier) error {
		var keys []string
		q.(sqlstore.Deferrer).Defer("INSERT INTO pt VALUES (?)", "d")
		q.(sqlstore.QueryDeferrer).DeferQuery("SELECT k FROM pt ORDER BY k", nil, func(sc sqlstore.Scanner) error {
			var k string
			err := sc.Scan(&k)
			keys = append(keys, k)
			return err
		})
		if keys != nil {
			t.Fatal("the deferred query ran before the next statement")
		}
		var n int
		if err := q.QueryRow(ctx, "SELECT count(*) FROM pt").Scan(&n); err != nil || n != 3 {
			t.Fatalf("next statement: %d, %v", n, err)
		}
		if want := []string{"a", "b", "d"}; !slices.Equal(keys, want) {
			t.Fatalf("the deferred query read %v, want %v", keys, want)
		}
		q.(sqlstore.QueryDeferrer).DeferQuery("SELECT k FROM no_such_table", nil, func(sqlstore.Scanner) error { return nil })
		if _, err := q.Exec(ctx, "SELECT 1"); err == nil {
			t.Fatal("a failed deferred query: the next statement did not fail")
		}
		return nil
	})
	if err == nil || count() != 2 {
		t.Fatalf("a failed deferred query: %v, %d rows (want an error and the insert undone)", err, count())
	}
	// The connection went back to the pool usable.
	for range 8 {
		if err := s.inPipeTx(ctx, func(q sqlstore.Querier) error { _, err := q.Exec(ctx, "SELECT 1"); return err }); err != nil {
			t.Fatal(err)
		}
	}
}
