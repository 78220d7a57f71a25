package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentmcp/agentmcp/store"
)

func (s *Store) CreateApp(ctx context.Context, id string) (store.App, error) {
	a := store.App{ID: id, CreatedAt: store.NowMillis()}
	n, err := s.write.Exec(ctx, "INSERT INTO apps (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING", a.ID, a.CreatedAt)
	if err != nil {
		return store.App{}, err
	}
	if n == 0 {
		return store.App{}, fmt.Errorf("app %q: %w", id, store.ErrConflict)
	}
	return a, nil
}

func (s *Store) ListApps(ctx context.Context) ([]store.App, error) {
	return Collect(ctx, s.read, "SELECT id, created_at FROM apps ORDER BY created_at, id", nil, func(sc Scanner) (store.App, error) {
		var a store.App
		return a, sc.Scan(&a.ID, &a.CreatedAt)
	})
}

func scanKey(sc Scanner) (store.APIKey, error) {
	var k store.APIKey
	var scope string
	var hash []byte
	if err := sc.Scan(&k.ID, &k.AppID, &scope, &hash, &k.Prefix, &k.CreatedAt, &k.RevokedAt, &k.AgentUID, &k.Name); err != nil {
		return store.APIKey{}, err
	}
	k.Scope = store.Scope(scope)
	copy(k.Hash[:], hash)
	return k, nil
}

func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	return s.tx(ctx, func(q Querier) error {
		n, err := q.Exec(ctx, "INSERT INTO api_keys ("+keyColumns+") SELECT ?, id, ?, ?, ?, ?, 0, ?, ? FROM apps WHERE id = ?",
			k.ID, string(k.Scope), k.Hash[:], k.Prefix, k.CreatedAt, k.AgentUID, k.Name, k.AppID)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("app %q: %w", k.AppID, store.ErrNotFound)
		}
		return audit(ctx, q, k.AppID, store.AuditKeyCreate, store.KeyTarget(k.ID), nil, k)
	})
}

func (s *Store) LookupAPIKey(ctx context.Context, hash [32]byte) (store.APIKey, error) {
	k, err := scanKey(s.read.QueryRow(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE hash = ?", hash[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIKey{}, store.ErrNotFound
	}
	return k, err
}

func (s *Store) ListAPIKeys(ctx context.Context, appID string) ([]store.APIKey, error) {
	if appID == "" {
		return Collect(ctx, s.read, "SELECT "+keyColumns+" FROM api_keys ORDER BY created_at, id", nil, scanKey)
	}
	return Collect(ctx, s.read, "SELECT "+keyColumns+" FROM api_keys WHERE app_id = ? ORDER BY created_at, id", []any{appID}, scanKey)
}

func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	return s.tx(ctx, func(q Querier) error {
		k, err := scanKey(q.QueryRow(ctx, s.q.revokeKeySelect, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("key", id)
		}
		if err != nil || k.RevokedAt != 0 {
			return err
		}
		after := k
		after.RevokedAt = store.NowMillis()
		if _, err := q.Exec(ctx, "UPDATE api_keys SET revoked_at = ? WHERE id = ?", after.RevokedAt, id); err != nil {
			return err
		}
		return audit(ctx, q, k.AppID, store.AuditKeyRevoke, store.KeyTarget(id), k, after)
	})
}

func scanServer(sc Scanner) (store.MCPServer, error) {
	var m store.MCPServer
	var status sql.NullString
	var checked, tools sql.NullInt64
	err := sc.Scan(&m.AppID, &m.Slug, &m.Name, &m.Description, &m.URL, &m.Icon, &m.CreatedAt, &m.UpdatedAt,
		&m.Auth.Type, &m.Auth.Headers, &status, &checked, &tools)
	if status.Valid {
		m.Health = &store.Health{Status: status.String, CheckedAt: checked.Int64, ToolCount: int(tools.Int64)}
	}
	return m, err
}

// tick hands out the app's next createdAt, max(now, clock + 1), under the app row's lock.
func (s *Store) tick(ctx context.Context, q Querier, appID string) (int64, error) {
	var t int64
	err := q.QueryRow(ctx, s.q.tick, store.NowMillis(), appID).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("app", appID)
	}
	return t, err
}

// exists runs a SELECT EXISTS (…).
func exists(ctx context.Context, q Querier, sql string, args ...any) (bool, error) {
	var found bool
	err := q.QueryRow(ctx, sql, args...).Scan(&found)
	return found, err
}

// NewServer is the server a create of in makes (without its clock) and its sealed
// credentials, if any.
func NewServer(appID string, in store.NewMCPServer) (store.MCPServer, store.Sealed) {
	m := store.MCPServer{AppID: appID, Slug: in.Slug, Name: in.Name, Description: in.Description, URL: in.URL, Icon: in.Icon}
	var sealed store.Sealed
	if in.Auth != nil && in.Auth.Info.Configured() {
		m.Auth, sealed = in.Auth.Info, in.Auth.Sealed
	}
	return m, sealed
}

func (s *Store) CreateMCPServer(ctx context.Context, appID string, in store.NewMCPServer) (store.MCPServer, error) {
	m, sealed := NewServer(appID, in)
	err := s.tx(ctx, func(q Querier) error {
		if s.d.RowLocks {
			// A taken slug is refused before the clock moves, so a conflict costs no app lock.
			taken, err := exists(ctx, q, "SELECT EXISTS (SELECT 1 FROM mcp_servers WHERE app_id = ? AND slug = ?)", appID, in.Slug)
			if err != nil {
				return err
			}
			if taken {
				return fmt.Errorf("mcp server %q: %w", in.Slug, store.ErrConflict)
			}
		}
		var t int64
		err := q.QueryRow(ctx, s.q.claimServer, store.NowMillis(), appID, in.Limit, in.Limit).Scan(&t)
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := s.tick(ctx, q, appID); err != nil {
				return err // no such app
			}
			return fmt.Errorf("app %q has %d MCP servers: %w", appID, in.Limit, store.ErrLimitReached)
		}
		if err != nil {
			return err
		}
		m.CreatedAt, m.UpdatedAt = t, t
		n, err := q.Exec(ctx, "INSERT INTO mcp_servers ("+serverColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, slug) DO NOTHING",
			m.AppID, m.Slug, m.Name, m.Description, m.URL, m.Icon, m.CreatedAt, m.UpdatedAt, m.Auth.Type, m.Auth.Headers, sealed.KeyID, sealedValue(sealed))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("mcp server %q: %w", in.Slug, store.ErrConflict)
		}
		return audit(ctx, q, appID, store.AuditServerCreate, store.ServerTarget(in.Slug), nil, m)
	})
	if err != nil {
		return store.MCPServer{}, err
	}
	return m, nil
}

func (s *Store) GetMCPServer(ctx context.Context, appID, slug string) (store.MCPServer, error) {
	return getServer(ctx, s.read, serverByKey, appID, slug)
}

func getServer(ctx context.Context, q Querier, query, appID, slug string) (store.MCPServer, error) {
	m, err := scanServer(q.QueryRow(ctx, query, appID, slug))
	if errors.Is(err, sql.ErrNoRows) {
		return store.MCPServer{}, notFound("mcp server", slug)
	}
	return m, err
}

func (s *Store) UpdateMCPServer(ctx context.Context, appID, slug string, p store.MCPServerPatch, pre store.Precondition) (before, after store.MCPServer, err error) {
	err = s.tx(ctx, func(q Querier) error {
		cur, err := getServer(ctx, q, s.q.getServerForWrite, appID, slug)
		if err != nil {
			return err
		}
		if err := pre.Check(store.ServerVersion(cur)); err != nil {
			return err
		}
		next, changed := p.Apply(cur)
		before, after = cur, cur
		if p.Auth != nil {
			info := p.Auth.Info
			if !info.Configured() {
				info = store.AuthInfo{}
			}
			// New credentials are a change even when their summary is the same (a new token).
			changed = changed || info.Configured() || cur.Auth.Configured()
			next.Auth = info
		}
		if !changed {
			return nil
		}
		next.UpdatedAt = max(store.NowMillis(), cur.UpdatedAt+1)
		if _, err := q.Exec(ctx, "UPDATE mcp_servers SET name = ?, description = ?, url = ?, icon = ?, updated_at = ? WHERE app_id = ? AND slug = ?",
			next.Name, next.Description, next.URL, next.Icon, next.UpdatedAt, appID, slug); err != nil {
			return err
		}
		if p.Auth != nil {
			var sealed store.Sealed
			if next.Auth.Configured() {
				sealed = p.Auth.Sealed
			}
			if _, err := q.Exec(ctx, "UPDATE mcp_servers SET auth_type = ?, auth_headers = ?, auth_key_id = ?, auth_sealed = ? WHERE app_id = ? AND slug = ?",
				next.Auth.Type, next.Auth.Headers, sealed.KeyID, sealedValue(sealed), appID, slug); err != nil {
				return err
			}
		}
		after = next
		return audit(ctx, q, appID, store.AuditServerUpdate, store.ServerTarget(slug), cur, next)
	})
	if err != nil {
		return store.MCPServer{}, store.MCPServer{}, err
	}
	return before, after, nil
}

func (s *Store) DeleteMCPServer(ctx context.Context, appID, slug string, pre store.Precondition) error {
	return s.tx(ctx, func(q Querier) error {
		// With row locks, the server's is taken first: an attach holding KEY SHARE on it
		// finishes before we look for the agents that have it, and a later attach waits and
		// then finds it gone.
		cur, err := getServer(ctx, q, s.q.getServerForWrite, appID, slug)
		if err != nil {
			return err
		}
		if err := pre.Check(store.ServerVersion(cur)); err != nil {
			return err
		}
		// The foreign key removes the attachments; the agents that had one change. With row
		// locks they are locked first in uid order, as a batch of attaches locks them
		// (agentwrites.go): the UPDATE's own order could deadlock with one.
		if s.d.RowLocks {
			if err := later(ctx, q, s.q.lockServerAgents, appID, appID, slug); err != nil {
				return err
			}
		}
		if _, err := q.Exec(ctx, s.q.touchServerAgents, store.NowMillis(), slug, appID, appID, slug); err != nil {
			return err
		}
		n, err := q.Exec(ctx, "DELETE FROM mcp_servers WHERE app_id = ? AND slug = ?", appID, slug)
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound("mcp server", slug)
		}
		if _, err := q.Exec(ctx, "UPDATE apps SET servers = servers - 1 WHERE id = ?", appID); err != nil {
			return err
		}
		return audit(ctx, q, appID, store.AuditServerDelete, store.ServerTarget(slug), cur, nil)
	})
}

func (s *Store) ListMCPServers(ctx context.Context, appID string, p store.Page) ([]store.MCPServer, error) {
	query, args, reverse := serversPage(appID, p)
	return listPage(ctx, s.read, query, args, reverse, p.Limit, scanServer)
}
