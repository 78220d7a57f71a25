package sqlite

import (
	"context"
	"database/sql"
	"sync"

	"github.com/agentmcp/agentmcp/store/internal/sqlstore"
)

// stmts runs every query of a pool as a prepared statement, prepared once per connection
// and kept: parsing SQL was the largest cost of a read. The set of query strings is fixed by
// the code (placeholder lists are at most 100 long), so the cache is bounded.
type stmts struct {
	db *sql.DB
	m  sync.Map // query → *sql.Stmt
}

var (
	_ sqlstore.Querier = (*stmts)(nil)
	_ sqlstore.Querier = txq{}
)

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

// prepareAll prepares qs on the pool (errors only cost the speed-up).
func (p *stmts) prepareAll(ctx context.Context, qs []string) {
	for _, q := range qs {
		p.stmt(ctx, q)
	}
}

func (p *stmts) close() {
	p.m.Range(func(_, s any) bool {
		s.(*sql.Stmt).Close()
		return true
	})
}

func (p *stmts) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	s, err := p.stmt(ctx, q)
	if err != nil {
		return 0, classify(err)
	}
	return exec(ctx, s, args)
}

func (p *stmts) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Scanner {
	s, err := p.stmt(ctx, q)
	if err != nil {
		return row{p.db.QueryRowContext(ctx, q, args...)} // reports the same error from Scan
	}
	return row{s.QueryRowContext(ctx, args...)}
}

func (p *stmts) Query(ctx context.Context, q string, args []any, fn func(sqlstore.Scanner) error) error {
	s, err := p.stmt(ctx, q)
	if err != nil {
		return classify(err)
	}
	return query(ctx, s, args, fn)
}

// txq runs the queries of a transaction through the pool's prepared statements. A query
// not prepared yet cannot be prepared on the pool while the transaction holds the writer's
// only connection, so it is prepared on the transaction for this once and remembered in
// pending, to be prepared on the pool when the transaction is over.
type txq struct {
	tx      *sql.Tx
	p       *stmts
	pending *[]string
	ctx     context.Context // when set, every statement runs on it instead of its caller's (see writer.do)
}

func (t txq) use(ctx context.Context) context.Context {
	if t.ctx != nil {
		return t.ctx
	}
	return ctx
}

func (t txq) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := t.p.m.Load(q); ok {
		return t.tx.StmtContext(ctx, s.(*sql.Stmt)), nil
	}
	*t.pending = append(*t.pending, q)
	return t.tx.PrepareContext(ctx, q)
}

func (t txq) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	ctx = t.use(ctx)
	s, err := t.stmt(ctx, q)
	if err != nil {
		return 0, classify(err)
	}
	return exec(ctx, s, args)
}

func (t txq) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Scanner {
	ctx = t.use(ctx)
	s, err := t.stmt(ctx, q)
	if err != nil {
		return row{t.tx.QueryRowContext(ctx, q, args...)} // reports the same error from Scan
	}
	return row{s.QueryRowContext(ctx, args...)}
}

func (t txq) Query(ctx context.Context, q string, args []any, fn func(sqlstore.Scanner) error) error {
	ctx = t.use(ctx)
	s, err := t.stmt(ctx, q)
	if err != nil {
		return classify(err)
	}
	return query(ctx, s, args, fn)
}

// row classifies the error of its Scan (sql.ErrNoRows passes through).
type row struct{ r *sql.Row }

func (r row) Scan(dest ...any) error { return classify(r.r.Scan(dest...)) }

func exec(ctx context.Context, s *sql.Stmt, args []any) (int64, error) {
	res, err := s.ExecContext(ctx, args...)
	if err != nil {
		return 0, classify(err)
	}
	n, err := res.RowsAffected()
	return n, classify(err)
}

func query(ctx context.Context, s *sql.Stmt, args []any, fn func(sqlstore.Scanner) error) error {
	rows, err := s.QueryContext(ctx, args...)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	return classify(sqlstore.Each(rows, fn))
}
