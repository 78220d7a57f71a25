package httpx

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/agentmcp/agentmcp/store"
)

// Principal is who made a request: the key and the app (tenant) it belongs to.
type Principal struct {
	AppID string
	KeyID string
}

type principalKey struct{}

// WithPrincipal puts the authenticated caller on ctx.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the authenticated caller of a request context.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	switch p := ctx.Value(principalKey{}).(type) {
	case Principal:
		return p, true
	case *Principal: // authValues'
		return *p, true
	}
	return Principal{}, false
}

// KeyCache remembers key lookups for ttl so a request costs no DB round trip. Only found
// keys are cached; a revoked key stops working within ttl.
type KeyCache struct {
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

// NewKeyCache remembers st's lookups for ttl (none when ttl < 0).
func NewKeyCache(st KeyLookup, ttl time.Duration) *KeyCache {
	return &KeyCache{st: st, ttl: ttl, now: time.Now, entries: map[[32]byte]cachedKey{}}
}

func (c *KeyCache) Lookup(ctx context.Context, secret string) (store.APIKey, error) {
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

// authenticate runs before request validation, so an anonymous caller learns nothing
// about the schema.
func (c *KeyCache) Authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		req := ec.Request()
		secret := req.Header.Get("apikey")
		if secret == "" {
			return NewError(http.StatusUnauthorized, CodeEmptyAPIKey, "The apikey header is missing.")
		}
		k, err := c.Lookup(req.Context(), secret)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return NewError(http.StatusUnauthorized, CodeAPIKeyNotFound, "The API key is not valid.")
		case err != nil:
			return StoreError(err, "", "")
		case k.RevokedAt != 0:
			return NewError(http.StatusUnauthorized, CodeAPIKeyNotFound, "The API key is not valid.")
		case k.Scope != store.ScopeFullAccess:
			return NewError(http.StatusForbidden, CodeNoAccess, "The API key does not have access to this operation.")
		}
		setAuth(ec, Principal{AppID: k.AppID, KeyID: k.ID}, store.Actor{KeyID: k.ID, RequestID: ec.Response().Header().Get(echo.HeaderXRequestID)})
		return next(ec)
	}
}
