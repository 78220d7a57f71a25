// Package cache is a read-through cache of MCP servers and MCP server list pages in front
// of a store.Store, for one process that sees every write (SQLite, or one replica).
//
// A write invalidates after the inner store returns. A read that raced with a write cannot
// put a stale value back: every shard has a generation that an invalidation bumps, and a read
// stores its result only if the generation it saw before reading is still current.
package cache

import (
	"context"
	"hash/maphash"
	"sync"

	"github.com/agentmcp/agentmcp/store"
)

const shards = 64

// Store wraps a store.Store; everything it does not cache passes through.
type Store struct {
	store.Store
	seed     maphash.Seed
	servers  [shards]shard[serverKey, store.MCPServer]
	perShard int
	pages    pageCache
}

// pageCache holds list pages, bounded by the servers they hold in all. A write in an app
// bumps the app's generation; pages of an older generation are never served.
type pageCache struct {
	mu     sync.RWMutex
	gens   map[string]uint64 // app → generation
	m      map[pageKey]cachedPage
	items  int
	budget int
}

type cachedPage struct {
	gen   uint64
	items []store.MCPServer
}

type serverKey struct{ app, slug string }

type pageKey struct {
	app string
	p   store.Page
}

type shard[K comparable, V any] struct {
	mu  sync.RWMutex
	gen uint64
	m   map[K]V
}

// New caches up to maxServers servers of inner, and list pages holding up to a tenth as many.
func New(inner store.Store, maxServers int) *Store {
	s := &Store{Store: inner, seed: maphash.MakeSeed(), perShard: max(1, maxServers/shards)}
	for i := range s.servers {
		s.servers[i].m = map[serverKey]store.MCPServer{}
	}
	s.pages = pageCache{gens: map[string]uint64{}, m: map[pageKey]cachedPage{}, budget: max(100, maxServers/10)}
	return s
}

func (c *pageCache) get(k pageKey) ([]store.MCPServer, uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	gen := c.gens[k.app]
	p, ok := c.m[k]
	if !ok || p.gen != gen {
		return nil, gen, false
	}
	return p.items, gen, true
}

func (c *pageCache) put(k pageKey, items []store.MCPServer, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gens[k.app] != gen || len(items) > c.budget {
		return
	}
	if old, ok := c.m[k]; ok {
		c.items -= len(old.items)
	}
	for old, p := range c.m { // evict arbitrary pages, stale ones first in practice
		if c.items+len(items) <= c.budget {
			break
		}
		c.items -= len(p.items)
		delete(c.m, old)
	}
	c.m[k] = cachedPage{gen: gen, items: items}
	c.items += len(items)
}

func (c *pageCache) invalidate(app string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gens[app]++
}

func (s *Store) shardOf(app, slug string) int {
	return int(maphash.String(s.seed, app+"\x00"+slug) % shards)
}

func (sh *shard[K, V]) get(k K) (V, uint64, bool) {
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	v, ok := sh.m[k]
	return v, sh.gen, ok
}

func (sh *shard[K, V]) put(k K, v V, gen uint64, limit int) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.gen != gen {
		return // a write happened since the read began: its result may be stale
	}
	if len(sh.m) >= limit {
		for old := range sh.m { // evict an arbitrary entry
			delete(sh.m, old)
			break
		}
	}
	sh.m[k] = v
}

func (sh *shard[K, V]) invalidate(match func(K) bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.gen++
	for k := range sh.m {
		if match(k) {
			delete(sh.m, k)
		}
	}
}

func (s *Store) invalidate(app, slug string) {
	k := serverKey{app, slug}
	s.servers[s.shardOf(app, slug)].invalidate(func(x serverKey) bool { return x == k })
	s.pages.invalidate(app)
}

func (s *Store) GetMCPServer(ctx context.Context, appID, slug string) (store.MCPServer, error) {
	sh := &s.servers[s.shardOf(appID, slug)]
	k := serverKey{appID, slug}
	v, gen, ok := sh.get(k)
	if ok {
		return v, nil
	}
	m, err := s.Store.GetMCPServer(ctx, appID, slug)
	if err == nil {
		sh.put(k, m, gen, s.perShard)
	}
	return m, err
}

func (s *Store) ListMCPServers(ctx context.Context, appID string, p store.Page) ([]store.MCPServer, error) {
	k := pageKey{appID, p}
	v, gen, ok := s.pages.get(k)
	if ok {
		return v, nil
	}
	l, err := s.Store.ListMCPServers(ctx, appID, p)
	if err == nil {
		s.pages.put(k, l, gen)
	}
	return l, err
}

func (s *Store) CreateMCPServer(ctx context.Context, appID string, in store.NewMCPServer) (store.MCPServer, error) {
	defer s.invalidate(appID, in.Slug)
	return s.Store.CreateMCPServer(ctx, appID, in)
}

func (s *Store) UpdateMCPServer(ctx context.Context, appID, slug string, p store.MCPServerPatch, pre store.Precondition) (before, after store.MCPServer, err error) {
	defer s.invalidate(appID, slug)
	return s.Store.UpdateMCPServer(ctx, appID, slug, p, pre)
}

func (s *Store) DeleteMCPServer(ctx context.Context, appID, slug string, pre store.Precondition) error {
	defer s.invalidate(appID, slug)
	return s.Store.DeleteMCPServer(ctx, appID, slug, pre)
}

// SaveProbe changes the health that cached servers and pages carry.
func (s *Store) SaveProbe(ctx context.Context, appID, slug string, r store.ProbeRecord) error {
	defer s.invalidate(appID, slug)
	return s.Store.SaveProbe(ctx, appID, slug, r)
}

// PoolStats passes the inner store's pool statistics through.
func (s *Store) PoolStats() store.PoolStats {
	if p, ok := s.Store.(store.Pooled); ok {
		return p.PoolStats()
	}
	return store.PoolStats{}
}
