// Package admission bounds what one API key, agent or app may hold of the gateway, so that
// one key cannot hurt anyone else: sessions (per key, agent and app: a replica's sessions
// are bounded in all, and past that bound the least recently used idle ones are evicted,
// anyone's), standing GET event streams (per key, agent and app, with a reserve of file
// descriptors kept for everyone else), concurrent requests per agent and
// app, and the bytes of upstream results in flight per app and in total. Past a bound the
// caller gets a *Refused (429 with Retry-After), never a hang.
//
// A stream also ends when its key is revoked or its agent deleted (or replaced by a new
// one with the same uid), found by a check every Recheck and at once on the key's or the
// agent's change on the feed, and after StreamLifetime in any case: its client reconnects if it still may.
package admission

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/store"
)

// Options are the bounds; zero values take the defaults.
type Options struct {
	SessionsPerKey   int // gateway sessions one key holds on a replica; default 256
	SessionsPerAgent int // default 512
	SessionsPerApp   int // default 1,024
	StreamsPerKey    int // default 8
	StreamsPerAgent  int // default 32
	StreamsPerApp    int // default 256
	CallsPerAgent    int // concurrent POST/DELETE requests per agent; default 32
	CallsPerApp      int // default 128
	// BytesPerApp and BytesTotal bound the bytes of upstream responses read for requests
	// still running (default 64 MiB and 256 MiB).
	BytesPerApp, BytesTotal int64
	// FDReserve file descriptors are kept for everything but new streams (default 256):
	// past FDLimit-FDReserve open descriptors a new stream is refused.
	FDReserve int
	// FDLimit defaults to the process's RLIMIT_NOFILE, read by New.
	FDLimit int
	// OpenFDs counts the process's open descriptors (default: /proc/self/fd; where that
	// cannot be read, the streams this Controller holds).
	OpenFDs func() int
	// StreamLifetime ends a stream in any case (default 1h); Recheck is how often a
	// stream's key and agent are checked again (default 5s: within the key cache's TTL).
	StreamLifetime, Recheck time.Duration
	// RetryAfter is what a refusal asks the caller to wait (default 1s).
	RetryAfter time.Duration
	// CallWait is how long a request past a calls bound waits for a running one to end
	// before it is refused (default 1s; negative: none). A request's slot is given back
	// only after its answer was sent, so a client whose calls never overlap more than
	// the bound may send its next one a moment before the last one's slot is free.
	CallWait time.Duration
}

// Defaults of Options.
const (
	DefaultSessionsPerKey   = 256
	DefaultSessionsPerAgent = 512
	DefaultSessionsPerApp   = 1024
	DefaultStreamsPerKey    = 8
	DefaultStreamsPerAgent  = 32
	DefaultStreamsPerApp    = 256
	DefaultCallsPerAgent    = 32
	DefaultCallsPerApp      = 128
	DefaultBytesPerApp      = 64 << 20
	DefaultBytesTotal       = 256 << 20
	DefaultFDReserve        = 256
	DefaultStreamLifetime   = time.Hour
	DefaultRecheck          = 5 * time.Second
	DefaultCallWait         = time.Second
)

// Refused is a request past a bound.
type Refused struct {
	What       string // e.g. "event streams of this API key"
	Limit      int64
	RetryAfter time.Duration
}

func (e *Refused) Error() string {
	return fmt.Sprintf("too many %s (at most %d); retry in %s", e.What, e.Limit, e.RetryAfter)
}

// Check says whether a stream may go on: nil, or why not (its key was revoked, its agent
// deleted). It runs with no lock held.
type Check func(ctx context.Context) error

// Controller keeps the counts; it is safe for concurrent use.
type Controller struct {
	opt Options

	mu       sync.Mutex
	streams  map[string]int64 // "k"+key id, "a"+app/uid, "p"+app → open streams
	sessions map[string]int64 // the same keys → sessions held
	calls    map[string]int64 // "a"+app/uid, "p"+app → requests running
	waits    map[string]int64 // the same keys → requests waiting for one of them to end
	freed    chan struct{}    // closed when a request ends, made by a request waiting for one
	bytes    map[string]int64 // app → bytes in flight
	total    int64            // bytes in flight, all apps
	held     int              // streams open, for OpenFDs' fallback
	byAgent  index[[2]string] // app, uid → its streams
	byKey    index[string]    // key id → its streams
}

type stream struct {
	check  Check
	cancel context.CancelCauseFunc
	wake   chan struct{}
}

// New reads RLIMIT_NOFILE unless opt.FDLimit is set.
func New(opt Options) *Controller {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&opt.SessionsPerKey, DefaultSessionsPerKey)
	def(&opt.SessionsPerAgent, DefaultSessionsPerAgent)
	def(&opt.SessionsPerApp, DefaultSessionsPerApp)
	def(&opt.StreamsPerKey, DefaultStreamsPerKey)
	def(&opt.StreamsPerAgent, DefaultStreamsPerAgent)
	def(&opt.StreamsPerApp, DefaultStreamsPerApp)
	def(&opt.CallsPerAgent, DefaultCallsPerAgent)
	def(&opt.CallsPerApp, DefaultCallsPerApp)
	def(&opt.FDReserve, DefaultFDReserve)
	if opt.BytesPerApp <= 0 {
		opt.BytesPerApp = DefaultBytesPerApp
	}
	if opt.BytesTotal <= 0 {
		opt.BytesTotal = DefaultBytesTotal
	}
	if opt.StreamLifetime <= 0 {
		opt.StreamLifetime = DefaultStreamLifetime
	}
	if opt.Recheck <= 0 {
		opt.Recheck = DefaultRecheck
	}
	if opt.RetryAfter <= 0 {
		opt.RetryAfter = time.Second
	}
	if opt.CallWait == 0 {
		opt.CallWait = DefaultCallWait
	}
	if opt.FDLimit <= 0 {
		var rl syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < 1<<30 {
			opt.FDLimit = int(rl.Cur)
		} else {
			opt.FDLimit = 1 << 20
		}
	}
	c := &Controller{opt: opt, streams: map[string]int64{}, sessions: map[string]int64{}, calls: map[string]int64{}, waits: map[string]int64{}, bytes: map[string]int64{},
		byAgent: index[[2]string]{}, byKey: index[string]{}}
	if c.opt.OpenFDs == nil {
		c.opt.OpenFDs = c.procFDs
	}
	return c
}

// procFDs counts /proc/self/fd, or the streams held where it cannot.
func (c *Controller) procFDs() int {
	f, err := os.Open("/proc/self/fd")
	if err != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.held
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.held
	}
	return len(names) - 1 // the one Open just made
}

func (c *Controller) refused(what string, limit int64) *Refused {
	return &Refused{What: what, Limit: limit, RetryAfter: c.opt.RetryAfter}
}

// bound is one count and its limit.
type bound struct {
	k     string
	limit int
	what  string
}

// take counts one more in m under every bound, or none when one is reached; c.mu is held.
func (c *Controller) take(m map[string]int64, bs []bound) *Refused {
	for _, b := range bs {
		if m[b.k] >= int64(b.limit) {
			return c.refused(b.what, int64(b.limit))
		}
	}
	for _, b := range bs {
		m[b.k]++
	}
	return nil
}

// give counts one less in m under every bound; c.mu is held.
func give(m map[string]int64, bs []bound) {
	for _, b := range bs {
		if m[b.k]--; m[b.k] <= 0 {
			delete(m, b.k)
		}
	}
}

// Session admits a gateway session (a new one, or one rebuilt on this replica) of key keyID
// on agent app/uid; done, called once when the session ends, gives its place back.
func (c *Controller) Session(app, uid, keyID string) (done func(), err error) {
	bs := []bound{
		{"k" + keyID, c.opt.SessionsPerKey, "gateway sessions of this API key"},
		{"a" + app + "/" + uid, c.opt.SessionsPerAgent, "gateway sessions of this agent"},
		{"p" + app, c.opt.SessionsPerApp, "gateway sessions of this app"},
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.take(c.sessions, bs); r != nil {
		return nil, r
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			give(c.sessions, bs)
		})
	}, nil
}

// Stream admits a standing GET event stream of key on agent uid. Serve it with ctx, which
// ends (its cause an error saying why) when check fails, the agent changes and check then
// fails, or the stream's lifetime is over; call done when it has ended.
func (c *Controller) Stream(ctx context.Context, key store.APIKey, uid string, check Check) (context.Context, func(), error) {
	// Counted before the lock: the count reads a directory.
	if open := c.opt.OpenFDs(); open+1 > c.opt.FDLimit-c.opt.FDReserve {
		return nil, nil, c.refused("open connections on this server (file descriptors kept in reserve)", int64(c.opt.FDLimit-c.opt.FDReserve))
	}
	keys := []bound{
		{"k" + key.ID, c.opt.StreamsPerKey, "event streams of this API key"},
		{"a" + key.AppID + "/" + uid, c.opt.StreamsPerAgent, "event streams of this agent"},
		{"p" + key.AppID, c.opt.StreamsPerApp, "event streams of this app"},
	}
	c.mu.Lock()
	if r := c.take(c.streams, keys); r != nil {
		c.mu.Unlock()
		return nil, nil, r
	}
	c.held++
	ctx, cancel := context.WithCancelCause(ctx)
	s := &stream{check: check, cancel: cancel, wake: make(chan struct{}, 1)}
	ak := [2]string{key.AppID, uid}
	c.byAgent.add(ak, s)
	c.byKey.add(key.ID, s)
	c.mu.Unlock()

	go c.watch(ctx, s)
	var once sync.Once
	done := func() {
		once.Do(func() {
			cancel(context.Canceled)
			c.mu.Lock()
			give(c.streams, keys)
			c.held--
			c.byAgent.remove(ak, s)
			c.byKey.remove(key.ID, s)
			c.mu.Unlock()
		})
	}
	return ctx, done, nil
}

// ErrLifetime ends a stream that has run for StreamLifetime.
var ErrLifetime = fmt.Errorf("the event stream reached its lifetime; reconnect")

// watch checks s every Recheck, and when woken by a change of its agent, until it ends.
func (c *Controller) watch(ctx context.Context, s *stream) {
	t := time.NewTicker(c.opt.Recheck)
	defer t.Stop()
	life := time.NewTimer(c.opt.StreamLifetime)
	defer life.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-life.C:
			s.cancel(ErrLifetime)
			return
		case <-t.C:
		case <-s.wake:
		}
		if s.check == nil {
			continue
		}
		if err := s.check(ctx); err != nil && ctx.Err() == nil {
			s.cancel(err)
			return
		}
	}
}

// index is a set of streams by what they belong to.
type index[K comparable] map[K]map[*stream]struct{}

func (ix index[K]) add(k K, s *stream) {
	if ix[k] == nil {
		ix[k] = map[*stream]struct{}{}
	}
	ix[k][s] = struct{}{}
}

func (ix index[K]) remove(k K, s *stream) {
	if delete(ix[k], s); len(ix[k]) == 0 {
		delete(ix, k)
	}
}

func wake(m map[*stream]struct{}) {
	for s := range m {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Changed wakes the checks of the streams of an agent that changed (it may be gone), of a
// key that was revoked, or of every stream on a reset of the feed.
func (c *Controller) Changed(ch store.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ch.Kind {
	case store.ChangeAgent:
		wake(c.byAgent[[2]string{ch.AppID, ch.Key}])
	case store.ChangeKey:
		wake(c.byKey[ch.Key])
	case store.ChangeReset:
		for _, m := range c.byAgent {
			wake(m)
		}
	}
}

// Call admits a request (a POST or DELETE) of key on agent uid. Serve it with ctx: the
// bytes of upstream responses read under it count against the app's and the total budget
// (probe.WithBudget) until done is called.
func (c *Controller) Call(ctx context.Context, key store.APIKey, uid string) (context.Context, func(), error) {
	bs := []bound{
		{"a" + key.AppID + "/" + uid, c.opt.CallsPerAgent, "concurrent requests to this agent's gateway"},
		{"p" + key.AppID, c.opt.CallsPerApp, "concurrent requests to this app's gateways"},
	}
	if r := c.takeCall(ctx, bs); r != nil {
		return nil, nil, r
	}
	ctx, release := c.Bytes(ctx, key.AppID)
	var once sync.Once
	done := func() {
		once.Do(func() {
			c.mu.Lock()
			give(c.calls, bs)
			if c.freed != nil {
				close(c.freed)
				c.freed = nil
			}
			c.mu.Unlock()
			release()
		})
	}
	return ctx, done, nil
}

// takeCall counts a request under bs, waiting up to CallWait for one to end when a bound
// is reached (woken by each end, not polling); the refusal when none ended in time, the
// caller left, or as many requests as the bound admits wait already.
func (c *Controller) takeCall(ctx context.Context, bs []bound) *Refused {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.take(c.calls, bs)
	if r == nil || c.opt.CallWait < 0 {
		return r
	}
	// No more wait under a bound than it admits: past that, the refusal at once.
	if c.take(c.waits, bs) != nil {
		return r
	}
	defer give(c.waits, bs)
	t := time.NewTimer(c.opt.CallWait)
	defer t.Stop()
	for r != nil {
		if c.freed == nil {
			c.freed = make(chan struct{})
		}
		freed := c.freed
		c.mu.Unlock()
		select {
		case <-freed:
		case <-t.C:
			c.mu.Lock()
			return c.take(c.calls, bs)
		case <-ctx.Done():
			c.mu.Lock()
			return r
		}
		c.mu.Lock()
		r = c.take(c.calls, bs)
	}
	return nil
}

// Bytes charges the bytes of upstream responses read under the returned context to app's
// and the total budget (probe.WithBudget) until release is called. The gateway calls it
// around each relayed request, whose context is the MCP session's, not the HTTP request's.
func (c *Controller) Bytes(ctx context.Context, app string) (context.Context, func()) {
	l := &lease{c: c, app: app}
	return probe.WithBudget(ctx, l), l.release
}

// lease is the bytes one request has taken.
type lease struct {
	c      *Controller
	app    string
	mu     sync.Mutex
	n      int64
	closed bool // released: later reads (none expected) are not charged
}

// Take charges n bytes, or refuses them past the app's or the total budget.
func (l *lease) Take(n int) error {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return nil
	}
	c := l.c
	c.mu.Lock()
	if c.bytes[l.app]+int64(n) > c.opt.BytesPerApp {
		c.mu.Unlock()
		return c.refused("bytes of MCP server results in flight for this app", c.opt.BytesPerApp)
	}
	if c.total+int64(n) > c.opt.BytesTotal {
		c.mu.Unlock()
		return c.refused("bytes of MCP server results in flight on this server", c.opt.BytesTotal)
	}
	c.bytes[l.app] += int64(n)
	c.total += int64(n)
	c.mu.Unlock()
	l.mu.Lock()
	l.n += int64(n)
	l.mu.Unlock()
	return nil
}

func (l *lease) release() {
	l.mu.Lock()
	n := l.n
	l.n, l.closed = 0, true
	l.mu.Unlock()
	c := l.c
	c.mu.Lock()
	if c.bytes[l.app] -= n; c.bytes[l.app] <= 0 {
		delete(c.bytes, l.app)
	}
	c.total -= n
	c.mu.Unlock()
}

// InFlight is the bytes of upstream results held now, for app and in total (tests, metrics).
func (c *Controller) InFlight(app string) (appBytes, total int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes[app], c.total
}
