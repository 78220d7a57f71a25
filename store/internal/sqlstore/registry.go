package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/agentmcp/agentmcp/store"
)

func (s *Store) SetRegistry(ctx context.Context, appID string, on bool) error {
	n, err := s.write.Exec(ctx, "UPDATE apps SET registry = ? WHERE id = ?", on, appID)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("app", appID)
	}
	return nil
}

func (s *Store) RegistryEnabled(ctx context.Context, appID string) (bool, error) {
	return registryEnabled(ctx, s.read, appID)
}

func registryEnabled(ctx context.Context, q Querier, appID string) (bool, error) {
	var on bool
	err := q.QueryRow(ctx, "SELECT registry FROM apps WHERE id = ?", appID).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return false, notFound("app", appID)
	}
	return on, err
}

// ListRegistry reads the switch and both lists from one snapshot.
func (s *Store) ListRegistry(ctx context.Context, appID string, rq store.RegistryQuery) (store.RegistryPage, error) {
	var page store.RegistryPage
	err := s.snap(ctx, func(q Querier) error {
		on, err := registryEnabled(ctx, q, appID)
		if err != nil || !on {
			if err == nil || errors.Is(err, store.ErrNotFound) {
				err = fmt.Errorf("registry of app %q: %w", appID, store.ErrNotFound) // alike: off, or no such app
			}
			return err
		}
		if !rq.Servers.Skip {
			query, args := s.registrySQL(serverSelect+" WHERE s.app_id = ?", "s.", "slug", appID, rq.Servers, rq)
			if page.Servers, err = Collect(ctx, q, query, args, scanServer); err != nil {
				return err
			}
		}
		if !rq.Agents.Skip {
			query, args := s.registrySQL("SELECT "+s.d.AgentColumns+" FROM agents a WHERE a.app_id = ?", "a.", "uid", appID, rq.Agents, rq)
			if page.Agents, err = Collect(ctx, q, query, args, scanAgent); err != nil {
				return err
			}
		}
		return nil
	})
	return page, err
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// registrySQL completes base (one app's rows of a table aliased alias, keyed by key) with
// r's range and q's filters, in byte order of the key. The set of texts it makes is small
// (key or after, since, search), so statement caches stay bounded.
func (s *Store) registrySQL(base, alias, key, appID string, r store.RegistryRange, q store.RegistryQuery) (string, []any) {
	var b strings.Builder
	b.WriteString(base)
	args := []any{appID}
	switch {
	case r.Key != "":
		b.WriteString(" AND " + alias + key + " = ?")
		args = append(args, r.Key)
	case r.After != "":
		b.WriteString(" AND " + alias + key + s.d.ByteOrder + " > ?")
		args = append(args, r.After)
	}
	if q.UpdatedSince > 0 {
		b.WriteString(" AND " + alias + "updated_at > ?")
		args = append(args, q.UpdatedSince)
	}
	if q.Search != "" {
		pattern := "%" + likeEscaper.Replace(strings.ToLower(q.Search)) + "%"
		sep := " AND ("
		for _, col := range []string{key, "name", "description"} {
			b.WriteString(sep + "lower(" + alias + col + `) LIKE ? ESCAPE '\'`)
			args = append(args, pattern)
			sep = " OR "
		}
		b.WriteString(")")
	}
	b.WriteString(" ORDER BY " + alias + key + s.d.ByteOrder + " LIMIT ?")
	return b.String(), append(args, q.Limit)
}
