package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/agentmcp/agentmcp/store"
)

var _ store.OAuthStore = (*Store)(nil)

func (s *Store) CreateOAuthClient(ctx context.Context, c store.OAuthClient) error {
	_, err := s.write.Exec(ctx, "INSERT INTO oauth_clients (id, name, redirect_uris, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
		c.ID, c.Name, JSONText(c.RedirectURIs), c.CreatedAt, c.ExpiresAt)
	return err
}

func (s *Store) GetOAuthClient(ctx context.Context, id string, now int64) (store.OAuthClient, error) {
	var c store.OAuthClient
	var uris string
	err := s.read.QueryRow(ctx, "SELECT id, name, redirect_uris, created_at, expires_at FROM oauth_clients WHERE id = ? AND (expires_at = 0 OR expires_at > ?)", id, now).
		Scan(&c.ID, &c.Name, &uris, &c.CreatedAt, &c.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("oauth client", id)
	}
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal([]byte(uris), &c.RedirectURIs)
}

const requestColumns = "id, client_id, client_name, agent_uid, redirect_uri, code_challenge, state, scope, created_at, expires_at, app_id, approved_by, used_at"

func scanRequest(sc Scanner) (store.OAuthRequest, error) {
	var r store.OAuthRequest
	err := sc.Scan(&r.ID, &r.ClientID, &r.ClientName, &r.AgentUID, &r.RedirectURI, &r.CodeChallenge, &r.State, &r.Scope,
		&r.CreatedAt, &r.ExpiresAt, &r.AppID, &r.ApprovedBy, &r.UsedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return r, notFound("oauth request", "")
	}
	return r, err
}

func (s *Store) CreateOAuthRequest(ctx context.Context, r store.OAuthRequest) error {
	_, err := s.write.Exec(ctx, "INSERT INTO oauth_requests ("+requestColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', 0)",
		r.ID, r.ClientID, r.ClientName, r.AgentUID, r.RedirectURI, r.CodeChallenge, r.State, r.Scope, r.CreatedAt, r.ExpiresAt)
	return err
}

func (s *Store) GetOAuthRequest(ctx context.Context, id string, now int64) (store.OAuthRequest, error) {
	return scanRequest(s.read.QueryRow(ctx, "SELECT "+requestColumns+" FROM oauth_requests WHERE id = ? AND code_hash IS NULL AND expires_at > ?", id, now))
}

func (s *Store) ApproveOAuthRequest(ctx context.Context, id, appID, keyID string, code [32]byte, now, codeExpires int64) error {
	n, err := s.write.Exec(ctx, "UPDATE oauth_requests SET app_id = ?, approved_by = ?, code_hash = ?, expires_at = ? WHERE id = ? AND code_hash IS NULL AND expires_at > ?",
		appID, keyID, code[:], codeExpires, id, now)
	if err == nil && n == 0 {
		err = notFound("oauth request", id)
	}
	return err
}

func (s *Store) DenyOAuthRequest(ctx context.Context, id string) error {
	n, err := s.write.Exec(ctx, "DELETE FROM oauth_requests WHERE id = ? AND code_hash IS NULL", id)
	if err == nil && n == 0 {
		err = notFound("oauth request", id)
	}
	return err
}

func (s *Store) LookupOAuthCode(ctx context.Context, code [32]byte) (store.OAuthRequest, error) {
	return scanRequest(s.read.QueryRow(ctx, "SELECT "+requestColumns+" FROM oauth_requests WHERE code_hash = ?", code[:]))
}

func insertTokens(ctx context.Context, q Querier, tokens []store.OAuthToken) error {
	for _, t := range tokens {
		if _, err := q.Exec(ctx, "INSERT INTO oauth_tokens (hash, grant_id, kind, expires_at, used_at) VALUES (?, ?, ?, ?, 0)",
			t.Hash[:], t.GrantID, t.Kind, t.ExpiresAt); err != nil {
			return err
		}
	}
	return nil
}

const grantColumns = "g.id, g.app_id, g.agent_uid, g.client_id, g.client_name, g.scope, g.created_at, g.last_used_at"

func scanGrant(sc Scanner) (store.OAuthGrant, error) {
	var g store.OAuthGrant
	return g, sc.Scan(&g.ID, &g.AppID, &g.AgentUID, &g.ClientID, &g.ClientName, &g.Scope, &g.CreatedAt, &g.LastUsedAt)
}

// revokeGrant deletes a grant (its tokens go with it) and records why.
func revokeGrant(ctx context.Context, q Querier, appID, id, action string) error {
	g, err := scanGrant(q.QueryRow(ctx, "SELECT "+grantColumns+" FROM oauth_grants g WHERE g.id = ? AND g.app_id = ?", id, appID))
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("oauth grant", id)
	}
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx, "DELETE FROM oauth_grants WHERE id = ?", id); err != nil {
		return err
	}
	return audit(ctx, q, appID, action, store.AgentTarget(g.AgentUID), g.Audit(), nil)
}

func (s *Store) RedeemOAuthCode(ctx context.Context, code [32]byte, g store.OAuthGrant, tokens []store.OAuthToken, now int64) error {
	replayed := false
	err := s.tx(ctx, func(q Querier) error {
		n, err := q.Exec(ctx, "UPDATE oauth_requests SET used_at = ? WHERE code_hash = ? AND used_at = 0", now, code[:])
		if err != nil {
			return err
		}
		if n == 0 { // used before: the grant it made goes (RFC 6749 §4.1.2)
			replayed = true
			err := revokeGrant(ctx, q, g.AppID, g.ID, store.AuditOAuthRevoke)
			if errors.Is(err, store.ErrNotFound) {
				err = nil
			}
			return err
		}
		// The agent may have gone since the consent: no grant then (rather than a foreign
		// key's error).
		ok, err := exists(ctx, q, "SELECT EXISTS (SELECT 1 FROM agents WHERE app_id = ? AND uid = ?)", g.AppID, g.AgentUID)
		if err != nil {
			return err
		}
		if !ok {
			return notFound("agent", g.AgentUID)
		}
		if _, err := q.Exec(ctx, "INSERT INTO oauth_grants (id, app_id, agent_uid, client_id, client_name, scope, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			g.ID, g.AppID, g.AgentUID, g.ClientID, g.ClientName, g.Scope, g.CreatedAt, g.LastUsedAt); err != nil {
			return err
		}
		if err := insertTokens(ctx, q, tokens); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, "UPDATE oauth_clients SET expires_at = 0 WHERE id = ? AND expires_at <> 0", g.ClientID); err != nil {
			return err
		}
		return audit(ctx, q, g.AppID, store.AuditOAuthGrant, store.AgentTarget(g.AgentUID), nil, g.Audit())
	})
	if err == nil && replayed {
		err = store.ErrReplayed
	}
	return err
}

func (s *Store) LookupOAuthToken(ctx context.Context, hash [32]byte) (store.OAuthToken, store.OAuthGrant, error) {
	var t store.OAuthToken
	var g store.OAuthGrant
	err := s.read.QueryRow(ctx, "SELECT t.grant_id, t.kind, t.expires_at, t.used_at, "+grantColumns+" FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.hash = ?", hash[:]).
		Scan(&t.GrantID, &t.Kind, &t.ExpiresAt, &t.UsedAt, &g.ID, &g.AppID, &g.AgentUID, &g.ClientID, &g.ClientName, &g.Scope, &g.CreatedAt, &g.LastUsedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return t, g, notFound("oauth token", "")
	}
	t.Hash = hash
	return t, g, err
}

func (s *Store) RotateOAuthRefresh(ctx context.Context, old [32]byte, tokens []store.OAuthToken, now int64) (store.OAuthGrant, error) {
	var g store.OAuthGrant
	replayed := false
	err := s.tx(ctx, func(q Querier) error {
		var t store.OAuthToken
		err := q.QueryRow(ctx, "SELECT t.grant_id, t.kind, t.expires_at, "+grantColumns+" FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.hash = ?", old[:]).
			Scan(&t.GrantID, &t.Kind, &t.ExpiresAt, &g.ID, &g.AppID, &g.AgentUID, &g.ClientID, &g.ClientName, &g.Scope, &g.CreatedAt, &g.LastUsedAt)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && (t.Kind != store.OAuthRefresh || t.ExpiresAt <= now)) {
			return notFound("oauth token", "")
		}
		if err != nil {
			return err
		}
		// The one statement that decides between two rotations of the same token.
		n, err := q.Exec(ctx, "UPDATE oauth_tokens SET used_at = ? WHERE hash = ? AND used_at = 0", now, old[:])
		if err != nil {
			return err
		}
		if n == 0 {
			replayed = true
			return revokeGrant(ctx, q, g.AppID, g.ID, store.AuditOAuthRefreshReuse)
		}
		for i := range tokens {
			tokens[i].GrantID = g.ID
		}
		if err := insertTokens(ctx, q, tokens); err != nil {
			return err
		}
		g.LastUsedAt = now
		_, err = q.Exec(ctx, "UPDATE oauth_grants SET last_used_at = ? WHERE id = ?", now, g.ID)
		return err
	})
	if err == nil && replayed {
		err = store.ErrReplayed
	}
	return g, err
}

func (s *Store) TouchOAuthGrant(ctx context.Context, id string, now int64) error {
	_, err := s.write.Exec(ctx, "UPDATE oauth_grants SET last_used_at = ? WHERE id = ? AND last_used_at < ?", now, id, now)
	return err
}

func (s *Store) ListOAuthGrants(ctx context.Context, appID, agentUID string) ([]store.OAuthGrant, error) {
	return Collect(ctx, s.read, "SELECT "+grantColumns+" FROM oauth_grants g WHERE g.app_id = ? AND g.agent_uid = ? ORDER BY g.created_at DESC, g.id",
		[]any{appID, agentUID}, scanGrant)
}

func (s *Store) RevokeOAuthGrant(ctx context.Context, appID, id string) error {
	return s.tx(ctx, func(q Querier) error { return revokeGrant(ctx, q, appID, id, store.AuditOAuthRevoke) })
}

func (s *Store) PurgeOAuth(ctx context.Context, now int64) (int64, error) {
	var total int64
	err := s.tx(ctx, func(q Querier) error {
		for _, del := range []string{
			"DELETE FROM oauth_clients WHERE expires_at <> 0 AND expires_at <= ?",
			"DELETE FROM oauth_requests WHERE expires_at <= ?",
			"DELETE FROM oauth_tokens WHERE expires_at <= ?",
		} {
			n, err := q.Exec(ctx, del, now)
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	return total, err
}
