package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/agentmcp/agentmcp/store"
)

// agentCache keeps decoded agents with the version they were read or written at: created_at
// and updated_at, which together change on every write of the row (every UPDATE moves
// updated_at forward; a uid made again gets a later created_at from the app's clock). A read
// asks the database only for the version, and when it is the cached one the row's lists
// (thousands of slugs under churn) are neither read nor decoded. Nothing is ever served
// without that check, so the cache needs no invalidation to stay right, on one process or
// many; it holds only committed agents: those read outside a transaction, and the
// after-images of writes once they have committed.
type agentCache struct {
	mu    sync.Mutex
	m     map[agentKey]cachedAgent
	bytes int
}

type agentKey struct{ app, uid string }

type cachedAgent struct {
	a    store.Agent
	size int
}

// agentCacheBytes bounds the cache by an estimate of what its agents hold.
const agentCacheBytes = 8 << 20

func agentSize(a *store.Agent) int {
	n := 512 + len(a.Name) + len(a.Description) + len(a.Instruction)
	for _, l := range [][]string{a.Tools, a.Files, a.Websites, a.OtherKbIntegrations, a.APITools, a.MCPServers, a.FrontendActions} {
		for _, s := range l {
			n += 16 + len(s)
		}
	}
	return n
}

func (c *agentCache) get(app, uid string) (store.Agent, bool) {
	c.mu.Lock()
	e, ok := c.m[agentKey{app, uid}]
	c.mu.Unlock()
	return e.a, ok
}

// put keeps a (committed) agent; an agent too large for a quarter of the budget is not kept.
func (c *agentCache) put(a store.Agent) {
	size := agentSize(&a)
	if size > agentCacheBytes/4 {
		c.drop(a.AppID, a.UID)
		return
	}
	k := agentKey{a.AppID, a.UID}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[agentKey]cachedAgent)
	}
	if old, ok := c.m[k]; ok {
		if old.a.CreatedAt == a.CreatedAt && old.a.UpdatedAt > a.UpdatedAt {
			return // a later version is here already (puts of concurrent writes can cross)
		}
		c.bytes -= old.size
	}
	for key, e := range c.m { // over budget: drop any, map order is random enough
		if c.bytes+size <= agentCacheBytes {
			break
		}
		delete(c.m, key)
		c.bytes -= e.size
	}
	c.m[k] = cachedAgent{a: a, size: size}
	c.bytes += size
}

func (c *agentCache) drop(app, uid string) {
	k := agentKey{app, uid}
	c.mu.Lock()
	if e, ok := c.m[k]; ok {
		delete(c.m, k)
		c.bytes -= e.size
	}
	c.mu.Unlock()
}

// agentAt reports whether the agent's row is at cand's version (query: the version query,
// with or without the row lock); a missing agent is ErrNotFound.
func (s *Store) agentAt(ctx context.Context, q Querier, query, appID, uid string, cand *store.Agent) (bool, error) {
	var created, updated int64
	err := q.QueryRow(ctx, query, appID, uid).Scan(&created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return false, s.agentGone(appID, uid)
	}
	return err == nil && atVersion(cand, created, updated), err
}

// atVersion says whether the cached agent c is the row whose versions are created and
// updated: the check that lets a read or a write use the cached copy.
func atVersion(c *store.Agent, created, updated int64) bool {
	return c.CreatedAt == created && c.UpdatedAt == updated
}

// agentGone is a read's answer for an agent that is not there: its copy leaves the cache.
func (s *Store) agentGone(appID, uid string) error {
	s.agents.drop(appID, uid)
	return notFound("agent", uid)
}

// readAgent reads a committed agent outside a transaction, through the cache.
func (s *Store) readAgent(ctx context.Context, appID, uid string) (store.Agent, error) {
	if c, ok := s.agents.get(appID, uid); ok {
		if same, err := s.agentAt(ctx, s.read, s.q.agentVersion, appID, uid, &c); same || err != nil {
			return c, err
		}
	}
	a, err := s.getAgent(ctx, s.read, appID, uid, false)
	if err == nil {
		s.agents.put(a)
	} else if errors.Is(err, store.ErrNotFound) {
		s.agents.drop(appID, uid)
	}
	return a, err
}

// lockAgent is getAgent for a write: it reads the agent under the writer (SQLite) or its
// row lock (PostgreSQL). The cached agent (the one just read outside the transaction, as a
// rule) is the answer when the row is still at its version.
func (s *Store) lockAgent(ctx context.Context, q Querier, appID, uid string) (store.Agent, error) {
	c, ok := s.agents.get(appID, uid)
	if s.d.RowLocks && (!ok || agentSize(&c) <= wholeRowBytes) {
		return s.lockAgentRow(ctx, q, appID, uid, c, ok)
	}
	if ok {
		if same, err := s.agentAt(ctx, q, s.q.agentVersionForWrite, appID, uid, &c); same || err != nil {
			return c, err
		}
	}
	return s.getAgent(ctx, q, appID, uid, true)
}

// wholeRowBytes is the size (agentSize) up to which a PostgreSQL write reads the locked agent
// whole rather than its version first: a round trip under the lock costs more than a small
// row, and less than decoding a list of thousands of slugs.
const wholeRowBytes = 4 << 10

// lockAgentRow is lockAgent where a round trip costs more than the row (PostgreSQL, a small
// agent): the locked row is read whole, and decoded only when it is not the cached version
// (another replica's write makes the cached copy stale often, and the version query then
// cost a second round trip under the lock).
func (s *Store) lockAgentRow(ctx context.Context, q Querier, appID, uid string, c store.Agent, cached bool) (store.Agent, error) {
	r, err := scanAgentRow(q.QueryRow(ctx, s.q.getAgentForWrite, appID, uid))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Agent{}, s.agentGone(appID, uid)
	}
	if err != nil {
		return store.Agent{}, err
	}
	if cached && atVersion(&c, r.a.CreatedAt, r.a.UpdatedAt) {
		return c, nil
	}
	return r.decode()
}

// lockAgents is lockAgent for the agents of uids (distinct, sorted): their rows locked in
// that order, those not there absent from the map (and from the cache).
func (s *Store) lockAgents(ctx context.Context, q Querier, appID string, uids []string) (map[string]store.Agent, error) {
	out := make(map[string]store.Agent, len(uids))
	if len(uids) == 1 || !s.d.RowLocks {
		// One agent, or one writer (SQLite: each read is no round trip): as lockAgent.
		for _, uid := range uids {
			a, err := s.lockAgent(ctx, q, appID, uid)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out[uid] = a
		}
		return out, nil
	}
	cached := make(map[string]store.Agent, len(uids))
	large := false
	for _, uid := range uids {
		if c, ok := s.agents.get(appID, uid); ok {
			cached[uid] = c
			large = large || agentSize(&c) > wholeRowBytes
		}
	}
	// As lockAgentRow: small agents' rows are read whole under the lock, and decoded only
	// where the cached copy is not their version. With a large cached one the lock reads
	// versions only, and the rows of agents not at their cached version are read after.
	if !large {
		err := q.Query(ctx, s.q.getAgentsForWrite, []any{appID, s.d.List(uids)}, func(sc Scanner) error {
			r, err := scanAgentRow(sc)
			if err != nil {
				return err
			}
			if c, ok := cached[r.a.UID]; ok && atVersion(&c, r.a.CreatedAt, r.a.UpdatedAt) {
				out[r.a.UID] = c
				return nil
			}
			a, err := r.decode()
			out[a.UID] = a
			return err
		})
		if err != nil {
			return nil, err
		}
	} else {
		var stale []string
		err := q.Query(ctx, s.q.agentVersionsForWrite, []any{appID, s.d.List(uids)}, func(sc Scanner) error {
			var uid string
			var created, updated int64
			if err := sc.Scan(&uid, &created, &updated); err != nil {
				return err
			}
			if c, ok := cached[uid]; ok && atVersion(&c, created, updated) {
				out[uid] = c
			} else {
				stale = append(stale, uid)
			}
			return nil
		})
		if err == nil && len(stale) > 0 {
			err = q.Query(ctx, s.q.getAgents, []any{appID, s.d.List(stale)}, func(sc Scanner) error {
				a, err := scanAgent(sc)
				out[a.UID] = a
				return err
			})
		}
		if err != nil {
			return nil, err
		}
	}
	for _, uid := range uids {
		if _, ok := out[uid]; !ok {
			s.agents.drop(appID, uid)
		}
	}
	return out, nil
}
