package store

import "context"

// OAuthConnection is what agentmcp holds to reach one MCP server that takes OAuth
// (issue 33): its tokens and client registration, sealed, and what may be shown.
// Version orders writes: each save is version+1 of the row it read, so two replicas
// refreshing at once cannot both write (with rotating refresh tokens the loser's token
// would already be spent).
type OAuthConnection struct {
	AppID, Slug string
	Version     int64
	Sealed      Sealed // the tokens and the client they were issued to (keyring seals them)
	ExpiresAt   int64  // epoch ms the access token expires (0: unknown or no token)
	Scopes      string // granted, space-separated
	StepUp      string // scopes a 403 insufficient_scope asked for since, space-separated
	Problem     string // why the tokens stopped working ("" while they work)
	LeaseUntil  int64  // a refresh in flight holds the row until then (epoch ms)
	UpdatedAt   int64
}

// OAuthState is one authorization request agentmcp sent a person to: its state's hash,
// the server it is for and what the callback needs (PKCE verifier, client, endpoints),
// sealed. It is used once and expires.
type OAuthState struct {
	Hash        [32]byte
	AppID, Slug string
	Sealed      Sealed
	ExpiresAt   int64 // epoch ms
}

// UpstreamOAuthStore keeps the OAuth connections to MCP servers and the authorization
// requests in flight. A server's rows go with it.
type UpstreamOAuthStore interface {
	// PutOAuthState keeps an authorization request until its ExpiresAt.
	PutOAuthState(ctx context.Context, s OAuthState) error
	// TakeOAuthState removes and returns the request whose state hashes to hash, if it has
	// not expired at now: a state is used once (ErrNotFound otherwise).
	TakeOAuthState(ctx context.Context, hash [32]byte, now int64) (OAuthState, error)
	// GetOAuthConnection is ErrNotFound when the server has no connection.
	GetOAuthConnection(ctx context.Context, appID, slug string) (OAuthConnection, error)
	// SaveOAuthConnection writes c as version prev+1 if the stored row is still at version
	// prev (0: there is none), clearing its lease; ErrConflict when another write came first.
	SaveOAuthConnection(ctx context.Context, c OAuthConnection, prev int64) (OAuthConnection, error)
	// LeaseOAuthConnection holds the row at version until `until` if no other lease holds
	// it at now; false when the version moved or another holds it.
	LeaseOAuthConnection(ctx context.Context, appID, slug string, version, now, until int64) (bool, error)
	// SetOAuthStepUp records the scopes a server asked for (a 403 insufficient_scope).
	SetOAuthStepUp(ctx context.Context, appID, slug, scopes string) error
	// DeleteOAuthConnection forgets a server's tokens (its credentials changed).
	DeleteOAuthConnection(ctx context.Context, appID, slug string) error
	// PurgeOAuthStates deletes the requests that expired before now.
	PurgeOAuthStates(ctx context.Context, now int64) (int64, error)
}
