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
	"sync/atomic"
	"time"

	"github.com/agentmcp/agentmcp/store"
)

const shards = 64

// Store wraps a store.Store; everything it does not cache passes through, forwarded
// explicitly (it embeds nothing, so a method added to store.Store does not compile until
// it is decided here whether it invalidates).
type Store struct {
	inner    store.Store
	seed     maphash.Seed
	servers  [shards]shard
	perShard int
	pages    pageCache
	feed     *store.Feed
	maxAge   int64 // ns; 0: none
	clock    func() time.Time
	outage   *Outage
	known    *lastKnown // nil without outage
}

// Options of New.
type Options struct {
	// Feed, when set, is how the cache learns of every write, this replica's (the store
	// under the cache publishes on it: store.Publishing) and the others': its changes
	// invalidate, and while it is unhealthy nothing is served from the cache.
	Feed *store.Feed
	// MaxAge, when set, bounds how long an entry is served: a safety net for a change the
	// feed cannot deliver (a replica that died between its commit and its notification).
	MaxAge time.Duration
	// Now, when set, is the clock MaxAge is measured on (tests); default time.Now.
	Now func() time.Time
	// Outage, when set, is told what the store answers, and while it says the store is
	// unavailable (within its bound) the reads an agent's gateway needs are answered from
	// their last answer (lastknown.go).
	Outage *Outage
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

type pageKey struct {
	app string
	p   store.Page
}

// shard is one 64th of the servers, by the hash of their key (see packed.go). gen is bumped
// under mu by every invalidation and read without it by reads about to go to the store.
type shard struct {
	mu  sync.RWMutex
	gen atomic.Uint64
	m   map[string]entry
}

// New caches about maxServers servers of inner (each shard an eighth more than its share, so
// that maxServers fit despite an uneven hash), and list pages holding up to a tenth as many.
func New(inner store.Store, maxServers int, opt ...Options) *Store {
	s := &Store{inner: inner, seed: maphash.MakeSeed(), perShard: max(1, maxServers/shards+maxServers/shards/8)}
	for i := range s.servers {
		s.servers[i].m = map[string]entry{}
	}
	s.pages = pageCache{gens: map[string]uint64{}, m: map[pageKey]cachedPage{}, budget: max(100, maxServers/10)}
	if len(opt) > 0 {
		s.feed, s.maxAge, s.clock, s.outage = opt[0].Feed, int64(opt[0].MaxAge), opt[0].Now, opt[0].Outage
	}
	if s.outage != nil {
		s.known = newLastKnown(max(1000, maxServers))
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.feed != nil {
		s.feed.Observe(s.changed)
	}
	return s
}

// changed applies a change of the feed.
func (s *Store) changed(c store.Change) {
	if s.known != nil {
		s.known.changed(c)
	}
	switch c.Kind {
	case store.ChangeServer, store.ChangeRecord:
		s.invalidate(c.AppID, c.Key)
	case store.ChangeReset: // also said when the feed's connection is back: the store is
		s.outage.Observe(nil)
		for i := range s.servers {
			s.servers[i].flush()
		}
		s.pages.flush()
	}
}

// serving says whether the cache may answer: not while the feed may be missing changes.
func (s *Store) serving() bool { return s.feed == nil || s.feed.Healthy() }

// fresh says whether something read at at may still be served.
func (s *Store) fresh(at int64) bool { return s.maxAge == 0 || s.clock().UnixNano()-at < s.maxAge }

func (s *Store) now() int64 {
	if s.maxAge == 0 {
		return 0
	}
	return s.clock().UnixNano()
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

func (s *Store) shardIndex(key []byte) int { return int(maphash.Bytes(s.seed, key) % shards) }

func (s *Store) shardOf(key []byte) *shard { return &s.servers[s.shardIndex(key)] }

func (sh *shard) get(key []byte) (entry, uint64, bool) {
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	e, ok := sh.m[string(key)]
	return e, sh.gen.Load(), ok
}

// put stores e unless a write happened since gen was read (the read's result may be
// stale). A full shard evicts an arbitrary entry for it, unless evict is false.
func (sh *shard) put(e entry, gen uint64, limit int, evict bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.gen.Load() != gen {
		return
	}
	k := e.key()
	if _, ok := sh.m[k]; !ok && len(sh.m) >= limit {
		if !evict {
			return
		}
		for old := range sh.m {
			delete(sh.m, old)
			break
		}
	}
	sh.m[k] = e
}

func (sh *shard) invalidate(key []byte) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.gen.Add(1)
	delete(sh.m, string(key))
}

func (sh *shard) flush() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.gen.Add(1)
	clear(sh.m)
}

func (s *Store) invalidate(app, slug string) {
	var buf [keyBuf]byte
	k := appendKey(buf[:0], app, slug)
	s.shardOf(k).invalidate(k)
	s.pages.invalidate(app)
}

// GetMCPServer answers from the cache when it can; a hit allocates nothing.
func (s *Store) GetMCPServer(ctx context.Context, appID, slug string) (store.MCPServer, error) {
	if !s.serving() {
		return s.inner.GetMCPServer(ctx, appID, slug)
	}
	var buf [keyBuf]byte
	k := appendKey(buf[:0], appID, slug)
	sh := s.shardOf(k)
	e, gen, ok := sh.get(k)
	if ok && s.fresh(e.at()) {
		return e.server(), nil
	}
	at := s.now()
	m, err := s.inner.GetMCPServer(ctx, appID, slug)
	if err == nil && s.serving() {
		sh.put(pack(m, at), gen, s.perShard, true)
	}
	return m, err
}

func (s *Store) ListMCPServers(ctx context.Context, appID string, p store.Page) ([]store.MCPServer, error) {
	if !s.serving() {
		return s.inner.ListMCPServers(ctx, appID, p)
	}
	k := pageKey{appID, p}
	v, gen, ok := s.pages.get(k)
	if ok && s.fresh(v.at) {
		return v.items, nil
	}
	var gens [shards]uint64
	for i := range s.servers {
		gens[i] = s.servers[i].gen.Load()
	}
	at := s.now()
	l, err := s.inner.ListMCPServers(ctx, appID, p)
	if err != nil || !s.serving() {
		return l, err
	}
	// The page's servers also fill the servers' free room (never evicting for them), so
	// that a client that lists and then reads each server mostly hits; the page keeps
	// views of their packed copies, sharing the memory.
	for i, m := range l {
		e := pack(m, at)
		var buf [keyBuf]byte
		k := appendKey(buf[:0], m.AppID, m.Slug)
		h := s.shardIndex(k)
		s.servers[h].put(e, gens[h], s.perShard, false)
		l[i] = e.server()
	}
	s.pages.put(k, l, gen, at)
	return l, nil
}

// Writes invalidate once: through the feed when there is one (the store under the cache
// publishes on it, store.Publishing, and changed invalidates as it is told), or here.

func (s *Store) CreateMCPServer(ctx context.Context, appID string, in store.NewMCPServer) (store.MCPServer, error) {
	defer s.wrote(appID, in.Slug)
	return s.inner.CreateMCPServer(ctx, appID, in)
}

func (s *Store) UpdateMCPServer(ctx context.Context, appID, slug string, p store.MCPServerPatch, pre store.Precondition) (before, after store.MCPServer, err error) {
	defer s.wrote(appID, slug)
	return s.inner.UpdateMCPServer(ctx, appID, slug, p, pre)
}

func (s *Store) DeleteMCPServer(ctx context.Context, appID, slug string, pre store.Precondition) error {
	defer s.wrote(appID, slug)
	return s.inner.DeleteMCPServer(ctx, appID, slug, pre)
}

// SaveProbe changes the health that cached servers and pages carry.
func (s *Store) SaveProbe(ctx context.Context, appID, slug string, r store.ProbeRecord) error {
	defer s.wrote(appID, slug)
	return s.inner.SaveProbe(ctx, appID, slug, r)
}

// wrote invalidates what a write of this process changed, unless the feed does.
func (s *Store) wrote(app, slug string) {
	if s.feed == nil {
		s.invalidate(app, slug)
	}
}

// PoolStats passes the inner store's pool statistics through.
func (s *Store) PoolStats() store.PoolStats {
	if p, ok := s.inner.(store.Pooled); ok {
		return p.PoolStats()
	}
	return store.PoolStats{}
}

// Unwrap returns the store under the cache (for optional interfaces).
func (s *Store) Unwrap() store.Store { return s.inner }

var _ store.Store = (*Store)(nil)

// Ping and LookupAPIKey tell the outage tracker what the store answered (the key cache in
// server/auth keeps its own last-known keys).
func (c *Store) Ping(ctx context.Context) error {
	err := c.inner.Ping(ctx)
	c.outage.Observe(err)
	return err
}
func (c *Store) Close() error { return c.inner.Close() }
func (c *Store) CreateApp(ctx context.Context, id string) (store.App, error) {
	return c.inner.CreateApp(ctx, id)
}
func (c *Store) ListApps(ctx context.Context) ([]store.App, error) { return c.inner.ListApps(ctx) }
func (c *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	return c.inner.CreateAPIKey(ctx, k)
}
func (c *Store) LookupAPIKey(ctx context.Context, h [32]byte) (store.APIKey, error) {
	k, err := c.inner.LookupAPIKey(ctx, h)
	c.outage.Observe(err)
	return k, err
}
func (c *Store) ListAPIKeys(ctx context.Context, app string) ([]store.APIKey, error) {
	return c.inner.ListAPIKeys(ctx, app)
}
func (c *Store) RevokeAPIKey(ctx context.Context, id string) error {
	return c.inner.RevokeAPIKey(ctx, id)
}
func (c *Store) CreateAgent(ctx context.Context, a store.Agent) (store.Agent, error) {
	return c.inner.CreateAgent(ctx, a)
}
func (c *Store) UpdateAgent(ctx context.Context, app, uid string, p store.AgentPatch, pre store.Precondition) (store.Agent, error) {
	return c.inner.UpdateAgent(ctx, app, uid, p, pre)
}
func (c *Store) DeleteAgent(ctx context.Context, app, uid string, pre store.Precondition) error {
	return c.inner.DeleteAgent(ctx, app, uid, pre)
}
func (c *Store) ListAgents(ctx context.Context, app string, p store.Page) ([]store.Agent, error) {
	return c.inner.ListAgents(ctx, app, p)
}
func (c *Store) AttachMCPServers(ctx context.Context, app, uid string, slugs []string) (store.Agent, error) {
	return c.inner.AttachMCPServers(ctx, app, uid, slugs)
}
func (c *Store) DetachMCPServers(ctx context.Context, app, uid string, slugs []string) (store.Agent, error) {
	return c.inner.DetachMCPServers(ctx, app, uid, slugs)
}
func (c *Store) GetProbe(ctx context.Context, app, slug string) (store.ProbeRecord, error) {
	return c.inner.GetProbe(ctx, app, slug)
}
func (c *Store) ClaimProbes(ctx context.Context, staleBefore, now, leaseUntil int64, limit int) ([]store.ServerRef, error) {
	return c.inner.ClaimProbes(ctx, staleBefore, now, leaseUntil, limit)
}
func (c *Store) BeginIdempotent(ctx context.Context, app, key, hash string, now, staleBefore, expireBefore int64) (store.Idempotent, bool, error) {
	return c.inner.BeginIdempotent(ctx, app, key, hash, now, staleBefore, expireBefore)
}
func (c *Store) GetIdempotent(ctx context.Context, app, key string) (store.Idempotent, error) {
	return c.inner.GetIdempotent(ctx, app, key)
}
func (c *Store) FinishIdempotent(ctx context.Context, app, key string, status int, body, etag string) error {
	return c.inner.FinishIdempotent(ctx, app, key, status, body, etag)
}
func (c *Store) AbandonIdempotent(ctx context.Context, app, key string) error {
	return c.inner.AbandonIdempotent(ctx, app, key)
}
func (c *Store) PurgeIdempotency(ctx context.Context, before int64) (int64, error) {
	return c.inner.PurgeIdempotency(ctx, before)
}
func (c *Store) ListAuditEvents(ctx context.Context, app string, q store.AuditQuery) ([]store.AuditEvent, error) {
	return c.inner.ListAuditEvents(ctx, app, q)
}
func (c *Store) ListDataKeys(ctx context.Context) ([]store.DataKey, error) {
	return c.inner.ListDataKeys(ctx)
}
func (c *Store) AddDataKey(ctx context.Context, k store.DataKey) error {
	return c.inner.AddDataKey(ctx, k)
}
func (c *Store) AddDataKeyWrap(ctx context.Context, keyID, keeper string, wrapped []byte) error {
	return c.inner.AddDataKeyWrap(ctx, keyID, keeper, wrapped)
}
func (c *Store) DeleteDataKeyWraps(ctx context.Context, keyID, keep string) error {
	return c.inner.DeleteDataKeyWraps(ctx, keyID, keep)
}
func (c *Store) DeleteDataKey(ctx context.Context, keyID string) error {
	return c.inner.DeleteDataKey(ctx, keyID)
}
func (c *Store) CountSealed(ctx context.Context) (map[string]int, error) {
	return c.inner.CountSealed(ctx)
}
func (c *Store) ListSealed(ctx context.Context, keyID string, limit int) ([]store.SealedRef, error) {
	return c.inner.ListSealed(ctx, keyID, limit)
}
func (c *Store) Reseal(ctx context.Context, ref store.SealedRef, s store.Sealed) (bool, error) {
	return c.inner.Reseal(ctx, ref, s)
}
func (c *Store) SetRegistry(ctx context.Context, app string, on bool) error {
	return c.inner.SetRegistry(ctx, app, on)
}
func (c *Store) RegistryEnabled(ctx context.Context, app string) (bool, error) {
	return c.inner.RegistryEnabled(ctx, app)
}
func (c *Store) ListRegistry(ctx context.Context, app string, q store.RegistryQuery) (store.RegistryPage, error) {
	return c.inner.ListRegistry(ctx, app, q)
}
func (c *Store) CountIdempotent(ctx context.Context, app string, limit int) (int, error) {
	return c.inner.CountIdempotent(ctx, app, limit)
}
func (c *Store) PurgeAuditEvents(ctx context.Context, before int64) (int64, error) {
	return c.inner.PurgeAuditEvents(ctx, before)
}

// Pins are not cached: the gateway reads them once per refresh of an agent.

func (c *Store) ListToolPins(ctx context.Context, app, uid string) ([]store.ToolPin, error) {
	return c.inner.ListToolPins(ctx, app, uid)
}
func (c *Store) ObserveToolPins(ctx context.Context, app, uid string, seen []store.PinObservation) ([]store.ToolPin, error) {
	return c.inner.ObserveToolPins(ctx, app, uid, seen)
}
func (c *Store) DecideToolChange(ctx context.Context, app, uid, hash string, approve bool) (store.ToolPin, error) {
	return c.inner.DecideToolChange(ctx, app, uid, hash, approve)
}
