package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentmcp/agentmcp/store"
)

var _ store.UpstreamOAuthStore = (*Store)(nil)

func (s *Store) PutOAuthState(ctx context.Context, st store.OAuthState) error {
	_, err := s.write.Exec(ctx, "INSERT INTO upstream_oauth_states (hash, app_id, slug, key_id, sealed, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
		st.Hash[:], st.AppID, st.Slug, st.Sealed.KeyID, st.Sealed.Value, st.ExpiresAt)
	return err
}

// TakeOAuthState deletes the row it returns in the same statement, so two callbacks with
// one state cannot both have it.
func (s *Store) TakeOAuthState(ctx context.Context, hash [32]byte, now int64) (store.OAuthState, error) {
	var st store.OAuthState
	var h []byte
	err := s.write.QueryRow(ctx, "DELETE FROM upstream_oauth_states WHERE hash = ? RETURNING hash, app_id, slug, key_id, sealed, expires_at", hash[:]).
		Scan(&h, &st.AppID, &st.Slug, &st.Sealed.KeyID, &st.Sealed.Value, &st.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && st.ExpiresAt <= now) {
		return store.OAuthState{}, notFound("oauth state", "")
	}
	if err != nil {
		return store.OAuthState{}, err
	}
	copy(st.Hash[:], h)
	return st, nil
}

const connectionColumns = "app_id, slug, version, key_id, sealed, expires_at, scopes, step_up, problem, lease_until, updated_at"

func (s *Store) GetOAuthConnection(ctx context.Context, appID, slug string) (store.OAuthConnection, error) {
	var c store.OAuthConnection
	err := s.read.QueryRow(ctx, "SELECT "+connectionColumns+" FROM upstream_oauth WHERE app_id = ? AND slug = ?", appID, slug).
		Scan(&c.AppID, &c.Slug, &c.Version, &c.Sealed.KeyID, &c.Sealed.Value, &c.ExpiresAt, &c.Scopes, &c.StepUp, &c.Problem, &c.LeaseUntil, &c.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("oauth connection", slug)
	}
	return c, err
}

func (s *Store) SaveOAuthConnection(ctx context.Context, c store.OAuthConnection, prev int64) (store.OAuthConnection, error) {
	c.Version, c.LeaseUntil = prev+1, 0
	if c.UpdatedAt == 0 {
		c.UpdatedAt = store.NowMillis()
	}
	var n int64
	var err error
	if prev == 0 {
		// The server must exist: its row is the foreign key's parent.
		n, err = s.write.Exec(ctx, "INSERT INTO upstream_oauth ("+connectionColumns+") SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ? "+
			"WHERE EXISTS (SELECT 1 FROM mcp_servers WHERE app_id = ? AND slug = ?) ON CONFLICT (app_id, slug) DO NOTHING",
			c.AppID, c.Slug, c.Version, c.Sealed.KeyID, c.Sealed.Value, c.ExpiresAt, c.Scopes, c.StepUp, c.Problem, c.UpdatedAt, c.AppID, c.Slug)
		if err == nil && n == 0 {
			if _, gerr := s.GetOAuthConnection(ctx, c.AppID, c.Slug); errors.Is(gerr, store.ErrNotFound) {
				return c, notFound("mcp server", c.Slug)
			}
		}
	} else {
		n, err = s.write.Exec(ctx, "UPDATE upstream_oauth SET version = ?, key_id = ?, sealed = ?, expires_at = ?, scopes = ?, step_up = ?, problem = ?, lease_until = 0, updated_at = ? "+
			"WHERE app_id = ? AND slug = ? AND version = ?",
			c.Version, c.Sealed.KeyID, c.Sealed.Value, c.ExpiresAt, c.Scopes, c.StepUp, c.Problem, c.UpdatedAt, c.AppID, c.Slug, prev)
	}
	if err != nil {
		return c, err
	}
	if n == 0 {
		return c, fmt.Errorf("oauth connection %q at version %d: %w", c.Slug, prev, store.ErrConflict)
	}
	return c, nil
}

func (s *Store) LeaseOAuthConnection(ctx context.Context, appID, slug string, version, now, until int64) (bool, error) {
	n, err := s.write.Exec(ctx, "UPDATE upstream_oauth SET lease_until = ? WHERE app_id = ? AND slug = ? AND version = ? AND lease_until <= ?",
		until, appID, slug, version, now)
	return n == 1, err
}

func (s *Store) SetOAuthStepUp(ctx context.Context, appID, slug, scopes string) error {
	_, err := s.write.Exec(ctx, "UPDATE upstream_oauth SET step_up = ? WHERE app_id = ? AND slug = ?", scopes, appID, slug)
	return err
}

func (s *Store) DeleteOAuthConnection(ctx context.Context, appID, slug string) error {
	_, err := s.write.Exec(ctx, "DELETE FROM upstream_oauth WHERE app_id = ? AND slug = ?", appID, slug)
	return err
}

func (s *Store) PurgeOAuthStates(ctx context.Context, now int64) (int64, error) {
	return s.write.Exec(ctx, "DELETE FROM upstream_oauth_states WHERE expires_at <= ?", now)
}
