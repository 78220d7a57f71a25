package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// KeyPrefix starts every secret agentmcp issues, so a leaked key is easy to recognise.
const KeyPrefix = "amk_"

// HashKey is how secrets are stored and looked up: only this hash is kept.
func HashKey(secret string) [32]byte {
	var buf [80]byte // a key's secret fits: no allocation per request for the conversion
	return sha256.Sum256(append(buf[:0], secret...))
}

// NewAPIKey makes a key for appID with 256 random bits; the secret is returned once and
// never stored.
func NewAPIKey(appID string, scope Scope) (k APIKey, secret string) {
	var raw [32]byte
	rand.Read(raw[:]) // never fails (crypto/rand contract since Go 1.24)
	var id [6]byte
	rand.Read(id[:])
	secret = KeyPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	return APIKey{
		ID:        "key_" + hex.EncodeToString(id[:]),
		AppID:     appID,
		Scope:     scope,
		Hash:      HashKey(secret),
		Prefix:    secret[:len(KeyPrefix)+6],
		CreatedAt: NowMillis(),
	}, secret
}
