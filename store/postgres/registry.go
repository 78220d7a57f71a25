package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/agentmcp/agentmcp/store"
)

func (s *Store) SetRegistry(ctx context.Context, appID string, on bool) error {
	tag, err := s.pool.Exec(ctx, "UPDATE apps SET registry = $1 WHERE id = $2", on, appID)
	if err != nil {
		return wrap(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("app %q: %w", appID, store.ErrNotFound)
	}
	return nil
}

func (s *Store) RegistryEnabled(ctx context.Context, appID string) (bool, error) {
	var on bool
	err := s.pool.QueryRow(ctx, "SELECT registry FROM apps WHERE id = $1", appID).Scan(&on)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("app %q: %w", appID, store.ErrNotFound)
	}
	return on, wrap(err)
}

func (s *Store) ListRegistry(ctx context.Context, appID string, q store.RegistryQuery) (store.RegistryPage, error) {
	var page store.RegistryPage
	on, err := s.RegistryEnabled(ctx, appID)
	if err != nil || !on {
		return page, store.RegistryOff(appID, err)
	}
	contains := func(col, arg string) string { return "strpos(lower(" + col + "), " + arg + ") > 0" }
	list := func(r store.RegistryRange, alias, key string) (string, []any) {
		n := 1 // $1 is the app id
		ph := func() string { n++; return "$" + strconv.Itoa(n) }
		where, args := q.RegistryWhere(r, alias, key, ` COLLATE "C"`, ph, contains)
		return where + " LIMIT " + ph(), append(append([]any{appID}, args...), q.Limit)
	}
	if !q.Servers.Skip {
		where, args := list(q.Servers, "s.", "slug")
		if page.Servers, err = collect(ctx, s.pool, serverSelect+" WHERE s.app_id = $1"+where, args, scanServer); err != nil {
			return page, err
		}
	}
	if !q.Agents.Skip {
		where, args := list(q.Agents, "a.", "uid")
		if page.Agents, err = collect(ctx, s.pool, "SELECT "+agentColumns+" FROM agents a WHERE a.app_id = $1"+where, args, scanAgent); err != nil {
			return page, err
		}
	}
	return page, nil
}
