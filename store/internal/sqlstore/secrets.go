package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentmcp/agentmcp/store"
)

// sealedValue is a sealed value as its column takes it: NULL for none.
func sealedValue(s store.Sealed) any {
	if s.KeyID == "" {
		return nil
	}
	return s.Value
}

func (s *Store) GetCredentials(ctx context.Context, appID, slug string) (store.AuthInfo, store.Sealed, error) {
	var info store.AuthInfo
	var sealed store.Sealed
	err := s.read.QueryRow(ctx, "SELECT auth_type, auth_headers, auth_key_id, auth_sealed FROM mcp_servers WHERE app_id = ? AND slug = ?", appID, slug).
		Scan(&info.Type, &info.Headers, &sealed.KeyID, &sealed.Value)
	if errors.Is(err, sql.ErrNoRows) {
		return info, sealed, notFound("mcp server", slug)
	}
	return info, sealed, err
}

func (s *Store) ListDataKeys(ctx context.Context) ([]store.DataKey, error) {
	var out []store.DataKey
	byID := map[string]int{}
	err := s.read.Query(ctx, "SELECT k.id, k.created_at, w.keeper, w.wrapped FROM data_keys k LEFT JOIN data_key_wraps w ON w.key_id = k.id ORDER BY k.created_at, k.id", nil,
		func(sc Scanner) error {
			var id string
			var at int64
			var keeper sql.NullString
			var wrapped []byte
			if err := sc.Scan(&id, &at, &keeper, &wrapped); err != nil {
				return err
			}
			i, ok := byID[id]
			if !ok {
				i = len(out)
				byID[id] = i
				out = append(out, store.DataKey{ID: id, CreatedAt: at, Wraps: map[string][]byte{}})
			}
			if keeper.Valid {
				out[i].Wraps[keeper.String] = wrapped
			}
			return nil
		})
	return out, err
}

func (s *Store) AddDataKey(ctx context.Context, k store.DataKey) error {
	return s.tx(ctx, func(q Querier) error {
		if _, err := q.Exec(ctx, "INSERT INTO data_keys (id, created_at) VALUES (?, ?)", k.ID, k.CreatedAt); err != nil {
			return err
		}
		for keeper, w := range k.Wraps {
			if _, err := q.Exec(ctx, "INSERT INTO data_key_wraps (key_id, keeper, wrapped) VALUES (?, ?, ?)", k.ID, keeper, w); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) AddDataKeyWrap(ctx context.Context, keyID, keeper string, wrapped []byte) error {
	_, err := s.write.Exec(ctx, "INSERT INTO data_key_wraps (key_id, keeper, wrapped) VALUES (?, ?, ?) ON CONFLICT (key_id, keeper) DO UPDATE SET wrapped = excluded.wrapped", keyID, keeper, wrapped)
	return err
}

func (s *Store) DeleteDataKeyWraps(ctx context.Context, keyID, keep string) error {
	_, err := s.write.Exec(ctx, "DELETE FROM data_key_wraps WHERE key_id = ? AND keeper <> ?", keyID, keep)
	return err
}

// DeleteDataKey removes a data key nothing is sealed under (ErrConflict otherwise).
func (s *Store) DeleteDataKey(ctx context.Context, keyID string) error {
	return s.tx(ctx, func(q Querier) error {
		used, err := exists(ctx, q, "SELECT EXISTS (SELECT 1 FROM mcp_servers WHERE auth_key_id = ?) OR EXISTS (SELECT 1 FROM upstream_oauth WHERE key_id = ?) "+
			"OR EXISTS (SELECT 1 FROM upstream_oauth_states WHERE key_id = ?)", keyID, keyID, keyID)
		if err != nil {
			return err
		}
		if used {
			return store.ErrConflict
		}
		_, err = q.Exec(ctx, "DELETE FROM data_keys WHERE id = ?", keyID)
		return err
	})
}

// CountSealed counts what each data key seals: servers' credentials, their OAuth tokens
// and the OAuth authorizations in flight.
func (s *Store) CountSealed(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := s.read.Query(ctx, "SELECT key_id, COUNT(*) FROM ("+
		"SELECT auth_key_id AS key_id FROM mcp_servers WHERE auth_key_id <> '' "+
		"UNION ALL SELECT key_id FROM upstream_oauth UNION ALL SELECT key_id FROM upstream_oauth_states) AS sealed GROUP BY key_id", nil, func(sc Scanner) error {
		var id string
		var n int
		if err := sc.Scan(&id, &n); err != nil {
			return err
		}
		out[id] = n
		return nil
	})
	return out, err
}

// ListSealed lists up to limit values sealed under keyID: credentials first, then OAuth
// tokens, then OAuth states.
func (s *Store) ListSealed(ctx context.Context, keyID string, limit int) ([]store.SealedRef, error) {
	out, err := Collect(ctx, s.read, "SELECT app_id, slug, auth_key_id, auth_sealed FROM mcp_servers WHERE auth_key_id = ? ORDER BY app_id, slug LIMIT ?",
		[]any{keyID, limit}, func(sc Scanner) (store.SealedRef, error) {
			r := store.SealedRef{Kind: store.SealedCredentials}
			return r, sc.Scan(&r.AppID, &r.Slug, &r.Sealed.KeyID, &r.Sealed.Value)
		})
	if err != nil || len(out) >= limit {
		return out, err
	}
	tokens, err := Collect(ctx, s.read, "SELECT app_id, slug, version, key_id, sealed FROM upstream_oauth WHERE key_id = ? ORDER BY app_id, slug LIMIT ?",
		[]any{keyID, limit - len(out)}, func(sc Scanner) (store.SealedRef, error) {
			r := store.SealedRef{Kind: store.SealedOAuthTokens}
			return r, sc.Scan(&r.AppID, &r.Slug, &r.Version, &r.Sealed.KeyID, &r.Sealed.Value)
		})
	out = append(out, tokens...)
	if err != nil || len(out) >= limit {
		return out, err
	}
	states, err := Collect(ctx, s.read, "SELECT hash, app_id, slug, key_id, sealed FROM upstream_oauth_states WHERE key_id = ? ORDER BY hash LIMIT ?",
		[]any{keyID, limit - len(out)}, func(sc Scanner) (store.SealedRef, error) {
			r := store.SealedRef{Kind: store.SealedOAuthState}
			var h []byte
			err := sc.Scan(&h, &r.AppID, &r.Slug, &r.Sealed.KeyID, &r.Sealed.Value)
			copy(r.Hash[:], h)
			return r, err
		})
	return append(out, states...), err
}

// Reseal swaps a sealed value for the same plaintext under another key if it is still the
// one listed. A server's updatedAt and version stay (its credentials are the same, only
// their envelope changed); an OAuth connection's version stays too, and a connection
// renewed since it was listed keeps its new tokens (the re-seal misses).
func (s *Store) Reseal(ctx context.Context, ref store.SealedRef, sl store.Sealed) (bool, error) {
	var n int64
	var err error
	switch ref.Kind {
	case store.SealedCredentials:
		n, err = s.write.Exec(ctx, "UPDATE mcp_servers SET auth_key_id = ?, auth_sealed = ? WHERE app_id = ? AND slug = ? AND auth_key_id = ?",
			sl.KeyID, sl.Value, ref.AppID, ref.Slug, ref.Sealed.KeyID)
	case store.SealedOAuthTokens:
		n, err = s.write.Exec(ctx, "UPDATE upstream_oauth SET key_id = ?, sealed = ? WHERE app_id = ? AND slug = ? AND key_id = ? AND version = ?",
			sl.KeyID, sl.Value, ref.AppID, ref.Slug, ref.Sealed.KeyID, ref.Version)
	case store.SealedOAuthState:
		n, err = s.write.Exec(ctx, "UPDATE upstream_oauth_states SET key_id = ?, sealed = ? WHERE hash = ? AND key_id = ?",
			sl.KeyID, sl.Value, ref.Hash[:], ref.Sealed.KeyID)
	default:
		return false, fmt.Errorf("reseal: unknown kind %q", ref.Kind)
	}
	return n == 1, err
}
