package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agentmcp/agentmcp/store/internal/sqlstore"
)

// pgq adapts the pool or a transaction to sqlstore.Querier: ? placeholders become $n, and
// errors come back classified.
type pgq struct {
	q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

var _ sqlstore.Querier = pgq{}

func (p pgq) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, sqlstore.Dollar(sql), args...)
	return tag.RowsAffected(), classify(err)
}

func (p pgq) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Scanner {
	return row{p.q.QueryRow(ctx, sqlstore.Dollar(sql), args...)}
}

func (p pgq) Query(ctx context.Context, sql string, args []any, fn func(sqlstore.Scanner) error) error {
	rows, err := p.q.Query(ctx, sqlstore.Dollar(sql), args...)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	return classify(sqlstore.Each(rows, fn))
}

// row classifies the error of its Scan (pgx.ErrNoRows passes through).
type row struct{ r pgx.Row }

func (r row) Scan(dest ...any) error { return classify(r.r.Scan(dest...)) }
