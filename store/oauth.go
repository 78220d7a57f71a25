package store

import (
	"context"
	"errors"
)

// ErrReplayed: a one-time secret (an authorization code, a refresh token) was presented
// again. The grant it belongs to has been revoked by the time this is returned.
var ErrReplayed = errors.New("presented again")

// Audit actions of OAuth grants (target: AgentTarget of the agent).
const (
	AuditOAuthGrant        = "oauth.grant"
	AuditOAuthRefreshReuse = "oauth.refresh_reuse"
	AuditOAuthRevoke       = "oauth.revoke"
)

// Kinds of OAuth tokens.
const (
	OAuthAccess  = "access"
	OAuthRefresh = "refresh"
)

// OAuthClient is a client registered dynamically (RFC 7591). A registration that never
// leads to a grant expires (ExpiresAt); its first grant clears ExpiresAt.
type OAuthClient struct {
	ID           string
	Name         string
	RedirectURIs []string
	CreatedAt    int64
	ExpiresAt    int64 // epoch ms; 0 once used
}

// OAuthRequest is an authorization request waiting for the person's consent, then, once
// approved, its authorization code (only the hash is kept). AppID and ApprovedBy are set by
// the approval: the app is the approving key's.
type OAuthRequest struct {
	ID            string
	ClientID      string // a registered id or a client metadata document URL
	ClientName    string
	AgentUID      string
	RedirectURI   string
	CodeChallenge string // S256
	State         string
	Scope         string
	CreatedAt     int64
	ExpiresAt     int64
	AppID         string
	ApprovedBy    string // the key id of the person who approved
	UsedAt        int64  // when its code was exchanged
}

// OAuthGrant is one client's access to one agent's gateway: the family of its tokens.
// Deleting the agent deletes its grants and their tokens.
type OAuthGrant struct {
	ID         string
	AppID      string
	AgentUID   string
	ClientID   string
	ClientName string
	Scope      string
	CreatedAt  int64
	LastUsedAt int64
}

// OAuthToken is an access or refresh token as stored: only the SHA-256 of the secret.
type OAuthToken struct {
	Hash      [32]byte
	GrantID   string
	Kind      string // OAuthAccess or OAuthRefresh
	ExpiresAt int64
	UsedAt    int64 // a refresh token once rotated
}

// OAuthStore keeps the authorization server's clients, requests, grants and tokens. It is
// not part of Store: only the SQL backends have it, and the store decorators (caches,
// publishing, timing) have nothing to add to it.
type OAuthStore interface {
	CreateOAuthClient(ctx context.Context, c OAuthClient) error
	// GetOAuthClient is ErrNotFound for a client never registered or whose registration
	// expired unused before now.
	GetOAuthClient(ctx context.Context, id string, now int64) (OAuthClient, error)

	CreateOAuthRequest(ctx context.Context, r OAuthRequest) error
	// GetOAuthRequest returns a request still waiting for consent at now (ErrNotFound otherwise).
	GetOAuthRequest(ctx context.Context, id string, now int64) (OAuthRequest, error)
	// ApproveOAuthRequest binds a waiting request to appID and the approving key and keeps
	// its code's hash, valid until codeExpires; ErrNotFound when it is not waiting any more.
	ApproveOAuthRequest(ctx context.Context, id, appID, keyID string, code [32]byte, now, codeExpires int64) error
	// DenyOAuthRequest forgets a waiting request (ErrNotFound when it is not waiting).
	DenyOAuthRequest(ctx context.Context, id string) error
	// LookupOAuthCode returns the approved request of a code, used or not.
	LookupOAuthCode(ctx context.Context, code [32]byte) (OAuthRequest, error)
	// RedeemOAuthCode uses a code once: it creates grant g (whose ID is the request's) with
	// its first tokens, marks the client used and records the grant in the audit trail, in
	// one transaction. A code used before: the grant it made is revoked and ErrReplayed;
	// an agent deleted since the consent: ErrNotFound.
	RedeemOAuthCode(ctx context.Context, code [32]byte, g OAuthGrant, tokens []OAuthToken, now int64) error

	// LookupOAuthToken returns a token by the hash of its secret and its grant (ErrNotFound
	// when either is gone).
	LookupOAuthToken(ctx context.Context, hash [32]byte) (OAuthToken, OAuthGrant, error)
	// RotateOAuthRefresh exchanges an unexpired refresh token for tokens of the same grant.
	// A refresh token used before revokes its grant (audited) and is ErrReplayed.
	RotateOAuthRefresh(ctx context.Context, old [32]byte, tokens []OAuthToken, now int64) (OAuthGrant, error)
	// TouchOAuthGrant records a use of a grant.
	TouchOAuthGrant(ctx context.Context, id string, now int64) error
	// ListOAuthGrants returns an agent's grants, newest first.
	ListOAuthGrants(ctx context.Context, appID, agentUID string) ([]OAuthGrant, error)
	// RevokeOAuthGrant deletes a grant of appID and its tokens (audited).
	RevokeOAuthGrant(ctx context.Context, appID, id string) error
	// PurgeOAuth deletes what expired before now: unused registrations, requests and
	// codes, tokens. It returns how many rows.
	PurgeOAuth(ctx context.Context, now int64) (int64, error)
}

// AuditGrant is the wire shape of an OAuth grant in the audit trail (openapi.yaml OAuthGrant).
type AuditGrant struct {
	ID         string `json:"id"`
	AgentUID   string `json:"agentUid"`
	ClientID   string `json:"clientId"`
	ClientName string `json:"clientName"`
	Scope      string `json:"scope"`
	CreatedAt  int64  `json:"createdAt"`
	LastUsedAt int64  `json:"lastUsedAt"`
}

// Audit returns g in its audit shape.
func (g OAuthGrant) Audit() AuditGrant {
	return AuditGrant{ID: g.ID, AgentUID: g.AgentUID, ClientID: g.ClientID, ClientName: g.ClientName, Scope: g.Scope, CreatedAt: g.CreatedAt, LastUsedAt: g.LastUsedAt}
}
