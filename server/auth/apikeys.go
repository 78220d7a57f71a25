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
// ttl so a request costs no database round trip; a revoked key stops working within ttl,
// at once where the change feed says so (Changed).
//
// Through an outage of the store (Outage) the keys it remembers keep answering, however
// old, for as long as the outage's bound allows; a key it never saw cannot be told valid
// or not (the store's unavailable error: a 503, not a 401). Revocations are remembered
// apart from the cache (by key id, never dropped with cached keys), so that a key revoked
// before an outage stays refused through it.
type APIKeys struct {
	st     KeyLookup
	ttl    time.Duration
	now    func() time.Time
	outage Outage

	mu      sync.RWMutex
	entries map[[32]byte]cachedKey
	revoked Revocations
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

// Outage says whether the store is unreachable, and whether for less than the bound in
// which remembered keys answer (*cache.Outage).
type Outage interface {
	Serving() bool
	Expired() bool
	Served() // counts an answer from memory
}

// KeyOptions are NewAPIKeys' options.
type KeyOptions struct {
	// Outage, when set, lets remembered keys answer while it is Serving, and none once it
	// has Expired.
	Outage Outage
}

// NewAPIKeys remembers st's lookups for ttl (none when ttl <= 0).
func NewAPIKeys(st KeyLookup, ttl time.Duration, opt ...KeyOptions) *APIKeys {
	c := &APIKeys{st: st, ttl: ttl, now: time.Now, entries: map[[32]byte]cachedKey{}}
	if len(opt) > 0 {
		c.outage = opt[0].Outage
	}
	return c
}

// Verify returns the principal of a valid key; ErrInvalid for an unknown or revoked one.
func (c *APIKeys) Verify(ctx context.Context, secret string) (Principal, error) {
	k, err := c.lookup(ctx, secret)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && k.RevokedAt != 0) || (err == nil && c.isRevoked(k.ID)):
		return Principal{}, ErrInvalid
	case err != nil:
		return Principal{}, fmt.Errorf("look up API key: %w", err)
	}
	return Principal{AppID: k.AppID, KeyID: k.ID, Scope: k.Scope, AgentUID: k.AgentUID}, nil
}

// Lookup returns the key of a secret, revoked or not (store.ErrNotFound for none), through
// the cache: the authorization server's consent check uses it.
func (c *APIKeys) Lookup(ctx context.Context, secret string) (store.APIKey, error) {
	k, err := c.lookup(ctx, secret)
	if err == nil && k.RevokedAt == 0 && c.isRevoked(k.ID) {
		k.RevokedAt = 1 // revoked, when is not known here
	}
	return k, err
}

func (c *APIKeys) isRevoked(id string) bool { return c.revoked.Has(id) }

func (c *APIKeys) lookup(ctx context.Context, secret string) (store.APIKey, error) {
	h := store.HashKey(secret)
	now := c.now()
	expired := c.outage != nil && c.outage.Expired() // nothing remembered answers: ask the store
	if c.ttl > 0 && !expired {
		c.mu.RLock()
		e, ok := c.entries[h]
		c.mu.RUnlock()
		if ok && now.Before(e.expires) {
			return e.key, nil
		}
	}
	k, err := c.st.LookupAPIKey(ctx, h)
	if errors.Is(err, store.ErrUnavailable) && c.outage != nil && c.outage.Serving() {
		c.mu.RLock()
		e, ok := c.entries[h]
		c.mu.RUnlock()
		if ok { // last known, however old
			c.outage.Served()
			return e.key, nil
		}
	}
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
	if k.RevokedAt != 0 {
		c.revoked.Add(k.ID)
	}
	c.mu.Unlock()
	return k, nil
}

// Changed applies a change of the feed (observe it: store.Feed.Observe): a revoked key is
// refused at once and remembered; a reset (changes may have been missed, revocations
// among them) forgets every key not known revoked, so each is looked up again.
func (c *APIKeys) Changed(ch store.Change) {
	switch ch.Kind {
	case store.ChangeKey:
		c.mu.Lock()
		defer c.mu.Unlock()
		c.revoked.Add(ch.Key)
		for h, e := range c.entries { // kept, revoked: through an outage it is a 401, not a 503
			if e.key.ID == ch.Key && e.key.RevokedAt == 0 {
				e.key.RevokedAt = c.now().UnixMilli()
				c.entries[h] = e
			}
		}
	case store.ChangeReset:
		c.mu.Lock()
		defer c.mu.Unlock()
		for h, e := range c.entries {
			if e.key.RevokedAt == 0 {
				delete(c.entries, h)
			}
		}
	}
}
