package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/agentmcp/agentmcp/store"
)

// APIKeys verifies agentmcp's API keys (agent keys included). It remembers found keys for
// ttl so a request costs no database round trip; a revoked key stops working within ttl.
type APIKeys struct {
	st  KeyLookup
	ttl time.Duration
	now func() time.Time

	mu      sync.RWMutex
	entries map[[32]byte]cachedKey
}

type cachedKey struct {
	key     store.APIKey
	expires time.Time
}

const keyCacheMax = 10000

// KeyLookup finds a key by the hash of its secret (store.Store does).
type KeyLookup interface {
	LookupAPIKey(ctx context.Context, hash [32]byte) (store.APIKey, error)
}

// NewAPIKeys remembers st's lookups for ttl (none when ttl <= 0).
func NewAPIKeys(st KeyLookup, ttl time.Duration) *APIKeys {
	return &APIKeys{st: st, ttl: ttl, now: time.Now, entries: map[[32]byte]cachedKey{}}
}

// Verify returns the principal of a valid key; ErrInvalid for an unknown or revoked one.
func (c *APIKeys) Verify(ctx context.Context, secret string) (Principal, error) {
	k, err := c.lookup(ctx, secret)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && k.RevokedAt != 0):
		return Principal{}, ErrInvalid
	case err != nil:
		return Principal{}, fmt.Errorf("look up API key: %w", err)
	}
	return Principal{AppID: k.AppID, KeyID: k.ID, Scope: k.Scope, AgentUID: k.AgentUID}, nil
}

// Lookup returns the key of a secret, revoked or not (store.ErrNotFound for none), through
// the cache: the authorization server's consent check uses it.
func (c *APIKeys) Lookup(ctx context.Context, secret string) (store.APIKey, error) {
	return c.lookup(ctx, secret)
}

func (c *APIKeys) lookup(ctx context.Context, secret string) (store.APIKey, error) {
	h := store.HashKey(secret)
	now := c.now()
	if c.ttl > 0 {
		c.mu.RLock()
		e, ok := c.entries[h]
		c.mu.RUnlock()
		if ok && now.Before(e.expires) {
			return e.key, nil
		}
	}
	k, err := c.st.LookupAPIKey(ctx, h)
	if err != nil || c.ttl <= 0 {
		return k, err
	}
	c.mu.Lock()
	if len(c.entries) >= keyCacheMax {
		for kh, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, kh)
			}
		}
		if len(c.entries) >= keyCacheMax {
			clear(c.entries)
		}
	}
	c.entries[h] = cachedKey{key: k, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return k, nil
}
