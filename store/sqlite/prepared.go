package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmts runs every query of a pool as a prepared statement, prepared once per connection
// and kept: parsing SQL was the largest cost of a read. The set of query strings is fixed by
// the code (placeholder lists are at most 100 long), so the cache is bounded.
type stmts struct {
	db *sql.DB
	m  sync.Map // query → *sql.Stmt
}

func (p *stmts) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := p.m.Load(q); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := p.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := p.m.LoadOrStore(q, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

func (p *stmts) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	s, err := p.stmt(ctx, q)
	if err != nil {
		return p.db.QueryRowContext(ctx, q, args...) // reports the same error from Scan
	}
	return s.QueryRowContext(ctx, args...)
}

func (p *stmts) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, err := p.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (p *stmts) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	s, err := p.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (p *stmts) close() {
	p.m.Range(func(_, s any) bool {
		s.(*sql.Stmt).Close()
		return true
	})
}

// txq runs the queries of a transaction through the pool's prepared statements. A query
// not prepared yet cannot be prepared on the pool while the transaction holds the writer's
// only connection, so it is prepared on the transaction for this once and remembered in
// pending, to be prepared on the pool when the transaction is over.
type txq struct {
	tx      *sql.Tx
	p       *stmts
	pending *[]string
}

func (t txq) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := t.p.m.Load(q); ok {
		return t.tx.StmtContext(ctx, s.(*sql.Stmt)), nil
	}
	if t.pending != nil {
		*t.pending = append(*t.pending, q)
	}
	return t.tx.PrepareContext(ctx, q)
}

// prepareAll prepares qs on the pool (errors only cost the speed-up).
func (p *stmts) prepareAll(ctx context.Context, qs []string) {
	for _, q := range qs {
		p.stmt(ctx, q)
	}
}

func (t txq) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	s, err := t.stmt(ctx, q)
	if err != nil {
		return t.tx.QueryRowContext(ctx, q, args...) // reports the same error from Scan
	}
	return s.QueryRowContext(ctx, args...)
}

func (t txq) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (t txq) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	s, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}
