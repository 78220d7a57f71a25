package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentmcp/agentmcp/store/internal/sqlstore"
)

// pipeTx is a write transaction that spends as few round trips as it can: BEGIN goes with
// its first statement, and the writes whose results nobody reads (sqlstore's Defer: the
// audit event, an agent's list…) go with the next statement or with the COMMIT. Rows a
// transaction locks stay locked until its COMMIT's flush, so every round trip it saves
// while holding one is a round trip another writer of that row does not wait (an attach
// went from eight round trips to four).
type pipeTx struct {
	c       *pgxpool.Conn
	pending []queued // BEGIN (until sent) and deferred writes
	begun   bool     // BEGIN was sent
}

type queued struct {
	sql  string
	args []any
	rows func(sqlstore.Scanner) error // a deferred query's reader; nil for a write
}

var _ sqlstore.QueryDeferrer = (*pipeTx)(nil)

func (t *pipeTx) Defer(sql string, args ...any) {
	t.pending = append(t.pending, queued{sql: sqlstore.Dollar(sql), args: args})
}

func (t *pipeTx) DeferQuery(sql string, args []any, fn func(sqlstore.Scanner) error) {
	t.pending = append(t.pending, queued{sql: sqlstore.Dollar(sql), args: args, rows: fn})
}

// readPending reads one pending statement's result from br.
func readPending(br pgx.BatchResults, q queued) error {
	if q.rows == nil {
		_, err := br.Exec()
		return err
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	return sqlstore.Each(rows, q.rows)
}

// send sends what is pending and then sql, and reads what was pending; the caller reads
// sql's result from br and closes it.
func (t *pipeTx) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	if !t.begun {
		b.Queue("BEGIN")
		t.begun = true
	}
	begin := b.Len() // BEGIN, when it goes now
	for _, q := range t.pending {
		b.Queue(q.sql, q.args...)
	}
	pending := t.pending
	t.pending = nil
	b.Queue(sql, args...)
	br := t.c.SendBatch(ctx, b)
	for range begin {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, err
		}
	}
	for _, q := range pending {
		if err := readPending(br, q); err != nil {
			br.Close()
			return nil, err
		}
	}
	return br, nil
}

func (t *pipeTx) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	br, err := t.send(ctx, sqlstore.Dollar(sql), args)
	if err != nil {
		return 0, classify(err)
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag.RowsAffected(), classify(err)
}

func (t *pipeTx) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Scanner {
	br, err := t.send(ctx, sqlstore.Dollar(sql), args)
	if err != nil {
		return errScanner{classify(err)}
	}
	return batchRow{br}
}

func (t *pipeTx) Query(ctx context.Context, sql string, args []any, fn func(sqlstore.Scanner) error) error {
	br, err := t.send(ctx, sqlstore.Dollar(sql), args)
	if err != nil {
		return classify(err)
	}
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	return classify(sqlstore.Each(rows, fn))
}

// commit sends what is pending with the COMMIT; nothing at all when nothing was sent.
func (t *pipeTx) commit(ctx context.Context) error {
	if !t.begun && len(t.pending) == 0 {
		return nil
	}
	br, err := t.send(ctx, "COMMIT", nil)
	if err != nil {
		return err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && tag.String() == "ROLLBACK" { // the transaction had failed: nothing committed
		err = pgx.ErrTxCommitRollback
	}
	return err
}

func (t *pipeTx) rollback(ctx context.Context) {
	if t.begun && !t.c.Conn().IsClosed() {
		if _, err := t.c.Exec(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
			t.c.Conn().Close(context.WithoutCancel(ctx)) // the pool drops it
		}
	}
}

// batchRow is the one row of a statement sent in a batch.
type batchRow struct{ br pgx.BatchResults }

func (r batchRow) Scan(dest ...any) error {
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	return classify(err)
}

type errScanner struct{ err error }

func (e errScanner) Scan(...any) error { return e.err }

// inPipeTx runs fn in a pipeTx on a connection of the pool.
func (s *Store) inPipeTx(ctx context.Context, fn func(q sqlstore.Querier) error) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	t := &pipeTx{c: c}
	if err := fn(t); err != nil {
		t.rollback(ctx)
		return err
	}
	if err := t.commit(ctx); err != nil {
		t.rollback(ctx)
		return err
	}
	return nil
}
