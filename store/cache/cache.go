// Package cache is a read-through cache of MCP servers and MCP server list pages in front
// of a store.Store: for one process that sees every write (SQLite), or for each of several
// replicas that learn of the others' writes from a change feed (PostgreSQL).
//
// A write invalidates after the inner store returns; a change on the feed invalidates as it
// arrives. A read that raced with either cannot put a stale value back: every shard has a
// generation that an invalidation bumps, and a read stores its result only if the
// generation it saw before reading is still current. While the feed is unhealthy (its
// connection is down, so changes may be missed) every read goes to the store, and the
// feed's reset on reconnecting flushes everything before the cache serves again.
package cache

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/agentmcp/agentmcp/store"
)

const shards = 64

// Store wraps a store.Store; everything it does not cache passes through.
type Store struct {
	store.Store
	seed     maphash.Seed
	servers  [shards]shard[serverKey, entry]
	perShard int
	pages    pageCache
	feed     *store.Feed
	maxAge   int64 // ns; 0: none
}

// entry is a cached server and when the read that fetched it began (with MaxAge).
type entry struct {
	m  store.MCPServer
	at int64
}

// Options of New.
type Options struct {
	// Feed, when set, is how this replica learns of the others' writes: its changes
	// invalidate, and while it is unhealthy nothing is served from the cache.
	Feed *store.Feed
	// MaxAge, when set, bounds how long an entry is served: a safety net for a change the
	// feed cannot deliver (a replica that died between its commit and its notification).
	MaxAge time.Duration
}

// pageCache holds list pages, bounded by the servers they hold in all. A write in an app
// bumps the app's generation; pages of an older generation are never served.
type pageCache struct {
	mu     sync.RWMutex
	epoch  uint64            // bumped by a flush; part of every app's generation
	gens   map[string]uint64 // app → generation
	m      map[pageKey]cachedPage
	items  int
	budget int
}

type cachedPage struct {
	gen   uint64
	at    int64
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
func New(inner store.Store, maxServers int, opt ...Options) *Store {
	s := &Store{Store: inner, seed: maphash.MakeSeed(), perShard: max(1, maxServers/shards)}
	for i := range s.servers {
		s.servers[i].m = map[serverKey]entry{}
	}
	s.pages = pageCache{gens: map[string]uint64{}, m: map[pageKey]cachedPage{}, budget: max(100, maxServers/10)}
	if len(opt) > 0 {
		s.feed, s.maxAge = opt[0].Feed, int64(opt[0].MaxAge)
	}
	if s.feed != nil {
		s.feed.Observe(s.changed)
	}
	return s
}

// changed applies a change of the feed.
func (s *Store) changed(c store.Change) {
	switch c.Kind {
	case store.ChangeServer, store.ChangeRecord:
		s.invalidate(c.AppID, c.Key)
	case store.ChangeReset:
		for i := range s.servers {
			s.servers[i].invalidate(func(serverKey) bool { return true })
		}
		s.pages.flush()
	}
}

// serving says whether the cache may answer: not while the feed may be missing changes.
func (s *Store) serving() bool { return s.feed == nil || s.feed.Healthy() }

// fresh says whether something read at at may still be served.
func (s *Store) fresh(at int64) bool { return s.maxAge == 0 || time.Now().UnixNano()-at < s.maxAge }

func (s *Store) now() int64 {
	if s.maxAge == 0 {
		return 0
	}
	return time.Now().UnixNano()
}

func (c *pageCache) get(k pageKey) (cachedPage, uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	gen := c.epoch + c.gens[k.app]
	p, ok := c.m[k]
	if !ok || p.gen != gen {
		return cachedPage{}, gen, false
	}
	return p, gen, true
}

func (c *pageCache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	clear(c.m)
	c.items = 0
}

func (c *pageCache) put(k pageKey, items []store.MCPServer, gen uint64, at int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch+c.gens[k.app] != gen || len(items) > c.budget {
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
	c.m[k] = cachedPage{gen: gen, at: at, items: items}
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
	if !s.serving() {
		return s.Store.GetMCPServer(ctx, appID, slug)
	}
	sh := &s.servers[s.shardOf(appID, slug)]
	k := serverKey{appID, slug}
	v, gen, ok := sh.get(k)
	if ok && s.fresh(v.at) {
		return v.m, nil
	}
	at := s.now()
	m, err := s.Store.GetMCPServer(ctx, appID, slug)
	if err == nil && s.serving() {
		sh.put(k, entry{m, at}, gen, s.perShard)
	}
	return m, err
}

func (s *Store) ListMCPServers(ctx context.Context, appID string, p store.Page) ([]store.MCPServer, error) {
	if !s.serving() {
		return s.Store.ListMCPServers(ctx, appID, p)
	}
	k := pageKey{appID, p}
	v, gen, ok := s.pages.get(k)
	if ok && s.fresh(v.at) {
		return v.items, nil
	}
	at := s.now()
	l, err := s.Store.ListMCPServers(ctx, appID, p)
	if err == nil && s.serving() {
		s.pages.put(k, l, gen, at)
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
