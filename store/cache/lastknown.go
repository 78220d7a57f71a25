package cache

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentmcp/agentmcp/store"
)

// DefaultLastKnownFor is how long, by default, last-known state answers while the store is
// unreachable.
const DefaultLastKnownFor = 5 * time.Minute

// Outage tracks whether the store answers and, when it does not, since when. While it does not,
// for at most the bound, what the gateway last read (its agents, their servers, their
// sealed credentials, the keys the authenticator knew) keeps answering: the data plane
// outlives a database outage; past the bound it stops too. The store's answers are its
// only signal (an unavailable error starts an outage, any answer ends it), so the bound runs
// from the first failure this process saw.
type Outage struct {
	bound  time.Duration
	now    func() time.Time
	since  atomic.Int64 // unix ns of the first unavailable answer after the last good one; 0: reachable
	served atomic.Int64 // reads answered from last-known state
}

// NewOutage tracks outages; last-known state answers for at most bound (0: never). now is
// the clock (nil: time.Now).
func NewOutage(bound time.Duration, now func() time.Time) *Outage {
	if now == nil {
		now = time.Now
	}
	return &Outage{bound: bound, now: now}
}

// Observe records what a store call answered: ErrUnavailable starts an outage (unless one
// is under way), an answer (nil, or a record not found) ends it; other errors (a request
// that went away) say nothing.
func (o *Outage) Observe(err error) {
	if o == nil {
		return
	}
	switch {
	case err == nil || errors.Is(err, store.ErrNotFound):
		if o.since.Load() != 0 {
			o.since.Store(0)
		}
	case errors.Is(err, store.ErrUnavailable):
		o.since.CompareAndSwap(0, o.now().UnixNano())
	}
}

// Down reports whether the store's last answer was that it is unavailable.
func (o *Outage) Down() bool { return o != nil && o.since.Load() != 0 }

// Since is when the outage under way started (zero when the store is reachable).
func (o *Outage) Since() time.Time {
	if o == nil {
		return time.Time{}
	}
	if s := o.since.Load(); s != 0 {
		return time.Unix(0, s)
	}
	return time.Time{}
}

// Serving reports whether last-known state may answer: the store is unreachable, for less
// than the bound.
func (o *Outage) Serving() bool {
	if o == nil {
		return false
	}
	s := o.since.Load()
	return s != 0 && o.now().UnixNano()-s < int64(o.bound)
}

// Expired reports whether the store has been unreachable for the bound or longer: nothing
// answered from memory may answer any more.
func (o *Outage) Expired() bool {
	if o == nil {
		return false
	}
	s := o.since.Load()
	return s != 0 && o.now().UnixNano()-s >= int64(o.bound)
}

// Served counts a read answered from last-known state.
func (o *Outage) Served() { o.served.Add(1) }

// ServedTotal is how many reads last-known state answered.
func (o *Outage) ServedTotal() int64 {
	if o == nil {
		return 0
	}
	return o.served.Load()
}

// lastKnown is the last answer of each read the gateway needs (an agent, its attached
// servers, a server's sealed credentials), per app, kept until a change makes it stale.
// Unlike the read cache it is kept while the feed is unhealthy: it answers only when the
// store cannot. A change removes what it touches; a reset (the feed may have missed
// changes) removes everything.
type lastKnown struct {
	mu    sync.Mutex
	epoch uint64 // bumped by a reset; part of every app's generation
	apps  map[string]*appKnown
	n     int // entries in all, a server list counting its servers
	max   int
}

type appKnown struct {
	gen      uint64 // bumped by every change of the app
	agents   map[string]store.Agent
	attached map[string][]store.MCPServer // agent uid → its servers
	creds    map[string]sealedCreds       // server slug → its credentials
}

type sealedCreds struct {
	info   store.AuthInfo
	sealed store.Sealed
}

func newLastKnown(max int) *lastKnown { return &lastKnown{apps: map[string]*appKnown{}, max: max} }

// gen is app's generation: a read stores its answer only if no change came meanwhile.
func (l *lastKnown) gen(app string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.epoch << 32
	if a := l.apps[app]; a != nil {
		g += a.gen
	}
	return g
}

// app returns app's entries, made on first use, if gen is still current and there is room.
// l.mu is held.
func (l *lastKnown) app(app string, gen uint64) *appKnown {
	a := l.apps[app]
	cur := l.epoch << 32
	if a != nil {
		cur += a.gen
	}
	if cur != gen || l.n >= l.max {
		return nil
	}
	if a == nil {
		a = &appKnown{agents: map[string]store.Agent{}, attached: map[string][]store.MCPServer{}, creds: map[string]sealedCreds{}}
		l.apps[app] = a
	}
	return a
}

// weight is what an entry counts against the bound: a server list its servers.
func weight(v any) int {
	if l, ok := v.([]store.MCPServer); ok {
		return max(1, len(l))
	}
	return 1
}

func put[V any](l *lastKnown, m map[string]V, k string, v V) {
	if old, ok := m[k]; ok {
		l.n -= weight(old)
	}
	l.n += weight(v)
	m[k] = v
}

func (l *lastKnown) putAgent(app, uid string, v store.Agent, gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.app(app, gen); a != nil {
		put(l, a.agents, uid, v)
	}
}

func (l *lastKnown) putAttached(app, uid string, v []store.MCPServer, gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.app(app, gen); a != nil {
		put(l, a.attached, uid, slices.Clone(v))
	}
}

func (l *lastKnown) putCreds(app, slug string, v sealedCreds, gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.app(app, gen); a != nil {
		put(l, a.creds, slug, v)
	}
}

func get[V any](l *lastKnown, app string, pick func(*appKnown) map[string]V, k string) (V, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var v V
	a := l.apps[app]
	if a == nil {
		return v, false
	}
	v, ok := pick(a)[k]
	return v, ok
}

func forget[V any](l *lastKnown, m map[string]V, k string) {
	if old, ok := m[k]; ok {
		delete(m, k)
		l.n -= weight(old)
	}
}

// changed applies a change of the feed.
func (l *lastKnown) changed(c store.Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.Kind == store.ChangeReset {
		l.epoch++
		clear(l.apps)
		l.n = 0
		return
	}
	a := l.apps[c.AppID]
	if a == nil {
		if c.Kind == store.ChangeAgent || c.Kind == store.ChangeServer {
			// A read under way must not store what this change made stale.
			a = &appKnown{agents: map[string]store.Agent{}, attached: map[string][]store.MCPServer{}, creds: map[string]sealedCreds{}}
			l.apps[c.AppID] = a
			a.gen++
		}
		return
	}
	switch c.Kind {
	case store.ChangeAgent:
		a.gen++
		forget(l, a.agents, c.Key)
		forget(l, a.attached, c.Key)
	case store.ChangeServer: // its URL, credentials or existence: every agent that has it
		a.gen++
		forget(l, a.creds, c.Key)
		for uid, servers := range a.attached {
			if slices.ContainsFunc(servers, func(m store.MCPServer) bool { return m.Slug == c.Key }) {
				forget(l, a.attached, uid)
			}
		}
	}
}

// strictKey marks a context whose reads must not be answered from last-known state.
type strictKey struct{}

// Strict returns ctx whose reads the store answers or fails: the REST API's, which shows
// the control plane as it is, never as it was.
func Strict(ctx context.Context) context.Context { return context.WithValue(ctx, strictKey{}, true) }

func strict(ctx context.Context) bool { return ctx.Value(strictKey{}) != nil }

// fallback answers a read that failed from last-known state when it may: the store is
// unavailable (within the outage's bound) and the caller is not Strict.
func fallback[V any](s *Store, ctx context.Context, err error, app string, pick func(*appKnown) map[string]V, k string) (V, bool) {
	var zero V
	if s.known == nil || !errors.Is(err, store.ErrUnavailable) || strict(ctx) || !s.outage.Serving() {
		return zero, false
	}
	v, ok := get(s.known, app, pick, k)
	if ok {
		s.outage.Served()
	}
	return v, ok
}

func agentsOf(a *appKnown) map[string]store.Agent         { return a.agents }
func attachedOf(a *appKnown) map[string][]store.MCPServer { return a.attached }
func credsOf(a *appKnown) map[string]sealedCreds          { return a.creds }

// GetAgent reads through, keeping the answer for an outage.
func (s *Store) GetAgent(ctx context.Context, app, uid string) (store.Agent, error) {
	gen := s.knownGen(app)
	a, err := s.inner.GetAgent(ctx, app, uid)
	s.outage.Observe(err)
	if err == nil && s.known != nil {
		s.known.putAgent(app, uid, a, gen)
	} else if v, ok := fallback(s, ctx, err, app, agentsOf, uid); ok {
		return v, nil
	}
	return a, err
}

// AgentMCPServers reads through, keeping the answer for an outage.
func (s *Store) AgentMCPServers(ctx context.Context, app, uid string) ([]store.MCPServer, error) {
	gen := s.knownGen(app)
	l, err := s.inner.AgentMCPServers(ctx, app, uid)
	s.outage.Observe(err)
	if err == nil && s.known != nil {
		s.known.putAttached(app, uid, l, gen)
	} else if v, ok := fallback(s, ctx, err, app, attachedOf, uid); ok {
		return slices.Clone(v), nil
	}
	return l, err
}

// GetCredentials reads through, keeping the sealed answer for an outage (the gateway opens
// new upstream sessions with it).
func (s *Store) GetCredentials(ctx context.Context, app, slug string) (store.AuthInfo, store.Sealed, error) {
	gen := s.knownGen(app)
	info, sealed, err := s.inner.GetCredentials(ctx, app, slug)
	s.outage.Observe(err)
	if err == nil && s.known != nil {
		s.known.putCreds(app, slug, sealedCreds{info, sealed}, gen)
	} else if v, ok := fallback(s, ctx, err, app, credsOf, slug); ok {
		return v.info, v.sealed, nil
	}
	return info, sealed, err
}

func (s *Store) knownGen(app string) uint64 {
	if s.known == nil {
		return 0
	}
	return s.known.gen(app)
}

// Outage is the tracker of the store's outages (nil without Options.Outage).
func (s *Store) Outage() *Outage { return s.outage }
