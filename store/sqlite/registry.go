package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentmcp/agentmcp/store"
)

func (s *Store) SetRegistry(ctx context.Context, appID string, on bool) error {
	res, err := s.wq.ExecContext(ctx, "UPDATE apps SET registry = ? WHERE id = ?", on, appID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("app %q: %w", appID, store.ErrNotFound)
	}
	return nil
}

func (s *Store) RegistryEnabled(ctx context.Context, appID string) (bool, error) {
	var on bool
	err := s.rq.QueryRowContext(ctx, "SELECT registry FROM apps WHERE id = ?", appID).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("app %q: %w", appID, store.ErrNotFound)
	}
	return on, err
}

func (s *Store) ListRegistry(ctx context.Context, appID string, q store.RegistryQuery) (store.RegistryPage, error) {
	var page store.RegistryPage
	on, err := s.RegistryEnabled(ctx, appID)
	if err != nil || !on {
		return page, store.RegistryOff(appID, err)
	}
	ph := func() string { return "?" }
	contains := func(col, arg string) string { return "instr(lower(" + col + "), " + arg + ") > 0" }
	if !q.Servers.Skip {
		where, args := q.RegistryWhere(q.Servers, "s.", "slug", "", ph, contains)
		if page.Servers, err = registryRows(ctx, s, serverSelect+" WHERE s.app_id = ?"+where, appID, args, q.Limit, scanServer); err != nil {
			return page, err
		}
	}
	if !q.Agents.Skip {
		where, args := q.RegistryWhere(q.Agents, "a.", "uid", "", ph, contains)
		if page.Agents, err = registryRows(ctx, s, "SELECT "+agentColumns+" FROM agents a WHERE a.app_id = ?"+where, appID, args, q.Limit, scanAgent); err != nil {
			return page, err
		}
	}
	return page, nil
}

func registryRows[T any](ctx context.Context, s *Store, query, appID string, args []any, limit int, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	rows, err := s.rq.QueryContext(ctx, query+" LIMIT ?", append(append([]any{appID}, args...), limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
