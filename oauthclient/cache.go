package oauthclient

import (
	"sync"
)

// maxCachedTokens bounds the access tokens kept in memory (one per server in use).
const maxCachedTokens = 10_000

// tokenCache keeps each server's access token unsealed in memory, so a request to a server
// that takes OAuth reads neither the store nor the keyring. An entry is the token of one
// version of the connection row; it is dropped when this process renews, fails or forgets
// the tokens, and when the change feed says the server changed (Invalidate), and it is
// bypassed when the server refused the token (another replica may hold a newer one).
// Nothing here is ever logged.
type tokenCache struct {
	mu  sync.Mutex
	m   map[serverKey]cachedToken
	gen uint64 // moves at each drop: a read begun before it does not put back what it read
}

type serverKey struct{ app, slug string }

type cachedToken struct {
	access  string
	expiry  int64 // epoch ms; 0: unknown
	version int64 // of the connection row it came from
}

// get returns the entry of k, and the generation a reader that misses puts its answer under.
func (c *tokenCache) get(k serverKey) (cachedToken, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[k]
	return t, ok, c.gen
}

// put keeps t unless a drop came since gen was read or a newer version is kept.
func (c *tokenCache) put(k serverKey, t cachedToken, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if old, ok := c.m[k]; ok && old.version > t.version {
		return
	}
	if c.m == nil {
		c.m = map[serverKey]cachedToken{}
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= maxCachedTokens {
		for other := range c.m { // full: make room (any entry; it is read again when needed)
			delete(c.m, other)
			break
		}
	}
	c.m[k] = t
}

func (c *tokenCache) drop(k serverKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, k)
}

func (c *tokenCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

// Invalidate forgets what this process keeps of a server's tokens (the change feed says
// the server changed, here or on another replica).
func (s *Service) Invalidate(app, slug string) { s.tokens.drop(serverKey{app, slug}) }

// InvalidateAll forgets every token kept in memory (the change feed may have lost changes).
func (s *Service) InvalidateAll() { s.tokens.clear() }
