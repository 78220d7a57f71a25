package store

import (
	"context"
	"strings"
)

// Sealed is a secret encrypted under a data key (nonce and AES-GCM ciphertext in Value).
type Sealed struct {
	KeyID string
	Value []byte
}

// DataKey is a data key as stored: only wrapped, by one or more keepers (by fingerprint).
type DataKey struct {
	ID        string
	CreatedAt int64 // ns, orders keys: the newest seals
	Wraps     map[string][]byte
}

// SealedRef is one sealed value of a server, for a rotation: its credentials, its OAuth
// tokens (at Version of their row) or an OAuth authorization in flight (Hash of its state).
type SealedRef struct {
	AppID, Slug string
	Kind        string // SealedCredentials, SealedOAuthTokens or SealedOAuthState
	Version     int64
	Hash        [32]byte
	Sealed      Sealed
}

// Kinds of sealed values.
const (
	SealedCredentials = ""
	SealedOAuthTokens = "oauth-tokens"
	SealedOAuthState  = "oauth-state"
)

// SealName is the name a value of kind is sealed under for server slug (the keyring binds
// the name to the ciphertext): a slug has no NUL, so no kind opens as another.
func SealName(kind, slug string) string {
	if kind == SealedCredentials {
		return slug
	}
	return slug + "\x00" + kind
}

// AuthInfo is what may be shown of a server's credentials: their type and the names of
// the headers they set, never a value. It is comparable, as MCPServer is.
type AuthInfo struct {
	Type    string // "" or "none": none
	Headers string // header names, sorted, joined by "," (a comma is no token character)
}

// Configured reports whether there are credentials.
func (a AuthInfo) Configured() bool { return a.Type != "" && a.Type != "none" }

// Names are the header names.
func (a AuthInfo) Names() []string {
	if a.Headers == "" {
		return []string{}
	}
	return strings.Split(a.Headers, ",")
}

// Auth is the credentials of a create or a patch: their summary and their sealed value.
// Type "none" removes stored credentials.
type Auth struct {
	Info   AuthInfo
	Sealed Sealed
}

// SecretStore keeps data keys and the sealed credentials of MCP servers.
type SecretStore interface {
	ListDataKeys(ctx context.Context) ([]DataKey, error)
	AddDataKey(ctx context.Context, k DataKey) error
	AddDataKeyWrap(ctx context.Context, keyID, keeper string, wrapped []byte) error
	// DeleteDataKeyWraps removes every wrap of keyID but keep's.
	DeleteDataKeyWraps(ctx context.Context, keyID, keep string) error
	DeleteDataKey(ctx context.Context, keyID string) error
	CountSealed(ctx context.Context) (map[string]int, error)
	ListSealed(ctx context.Context, keyID string, limit int) ([]SealedRef, error)
	// Reseal replaces ref's sealed value with s if it is still ref's (sealed under
	// ref.Sealed.KeyID, and for tokens still at ref.Version: a renewal wins).
	Reseal(ctx context.Context, ref SealedRef, s Sealed) (bool, error)
	// GetCredentials returns a server's sealed credentials (ErrNotFound: the server does
	// not exist; a zero Sealed: it has none).
	GetCredentials(ctx context.Context, appID, slug string) (AuthInfo, Sealed, error)
}
