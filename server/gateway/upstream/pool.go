package upstream

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/probe"
)

// Connector opens MCP client sessions to servers; *probe.Prober is the real one (the
// same address policy, redirect rule, body bound and transport choice as probes).
type Connector interface {
	Connect(ctx context.Context, url string, auth probe.Auth, c *mcp.Client) (*mcp.ClientSession, error)
}

// Credentials gives what a server's stored credentials send on each request: fixed
// headers (*keyring.Service), or an OAuth connection's token, renewed as it expires or is
// refused (*oauthclient.Service).
type Credentials interface {
	Auth(ctx context.Context, app, slug string) (probe.Auth, error)
}

// Key names a server: its app and slug.
type Key struct{ App, Slug string }

// Options configure a Pool. Zero values take the defaults.
type Options struct {
	Connector        Connector
	Credentials      Credentials
	ConnectTimeout   time.Duration // per handshake (default 30 s)
	BreakerThreshold int           // consecutive outages that open a circuit (default 3)
	BreakerCooldown  time.Duration // first open period, doubling up to 5 min (default 30 s)
	// Opened is told (in its own goroutine) when a server's circuit opens, with the outage.
	Opened func(k Key, cause error)
	Now    func() time.Time
}

// Pool holds the breakers of the servers this replica reaches and the lanes that hold
// their sessions.
type Pool struct {
	opt Options

	mu       sync.Mutex
	breakers map[Key]*breaker
	lanes    map[*Lane]struct{}
	closed   bool
}

// NewPool returns a pool; Close closes every session it opened.
func NewPool(o Options) *Pool {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 30 * time.Second
	}
	if o.BreakerThreshold <= 0 {
		o.BreakerThreshold = 3
	}
	if o.BreakerCooldown <= 0 {
		o.BreakerCooldown = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Pool{opt: o, breakers: map[Key]*breaker{}, lanes: map[*Lane]struct{}{}}
}

// breaker counts a server's consecutive outages; past the threshold its circuit opens for
// a cool-down that doubles while it keeps failing.
type breaker struct {
	failures  int
	openUntil time.Time
}

// Open reports whether k's circuit is open (its calls fail fast, its catalogue is left out).
func (p *Pool) Open(k Key) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.breakers[k]
	return b != nil && p.opt.Now().Before(b.openUntil)
}

// record feeds an outcome (already classified: nil or an *Error) to k's breaker.
func (p *Pool) record(k Key, err error) {
	if errors.Is(err, ErrOpen) {
		return
	}
	p.mu.Lock()
	b := p.breakers[k]
	if err == nil {
		if b != nil {
			delete(p.breakers, k)
		}
		p.mu.Unlock()
		return
	}
	if b == nil {
		b = &breaker{}
		p.breakers[k] = b
	}
	b.failures++
	opened := false
	if n := b.failures - p.opt.BreakerThreshold; n >= 0 {
		d := min(p.opt.BreakerCooldown<<min(n, 5), 5*time.Minute)
		b.openUntil = p.opt.Now().Add(d)
		opened = n == 0
	}
	p.mu.Unlock()
	if opened && p.opt.Opened != nil {
		go p.opt.Opened(k, err)
	}
}

// Forget closes every session to k (its URL or credentials changed, or it is gone).
func (p *Pool) Forget(k Key) {
	for _, l := range p.allLanes() {
		l.forget(k)
	}
}

// ForgetAll closes every session (the store was reset).
func (p *Pool) ForgetAll() {
	for _, l := range p.allLanes() {
		l.forgetAll()
	}
}

func (p *Pool) allLanes() []*Lane {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*Lane, 0, len(p.lanes))
	for l := range p.lanes {
		out = append(out, l)
	}
	return out
}

// Close closes every lane and session and refuses new ones.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for _, l := range p.allLanes() {
		l.Close()
	}
}

// NewLane returns a lane: the sessions one owner (a client session of the gateway, or the
// shared catalogue reader) holds, one per server, each made with client(k). ok is false
// when the pool is closed.
func (p *Pool) NewLane(client func(Key) *mcp.Client) (*Lane, bool) {
	l := &Lane{p: p, client: client, conns: map[Key]*conn{}}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, false
	}
	p.lanes[l] = struct{}{}
	return l, true
}

// Lane holds one owner's sessions, one per server, connected on first use.
type Lane struct {
	p      *Pool
	client func(Key) *mcp.Client

	mu     sync.Mutex
	conns  map[Key]*conn
	closed bool
	level  mcp.LoggingLevel // the owner's log level, set on every session it opens
}

// conn is a session being connected (ready not closed yet) or connected.
type conn struct {
	url   string
	ready chan struct{}
	cs    *mcp.ClientSession
	err   error
}

// Session returns a live session to server k at url, connecting once (single-flight,
// outside any lock) when there is none.
func (l *Lane) Session(ctx context.Context, k Key, url string) (*mcp.ClientSession, error) {
	if l.p.Open(k) {
		return nil, &Error{Server: k.Slug, Kind: ErrOpen}
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, &Error{Server: k.Slug, Kind: ErrUnreachable, Err: errLaneClosed}
	}
	c := l.conns[k]
	var old *conn
	if c != nil && c.url != url {
		old, c = c, nil
	}
	mine := c == nil
	if mine {
		c = &conn{url: url, ready: make(chan struct{})}
		l.conns[k] = c
	}
	level := l.level
	l.mu.Unlock()
	if old != nil {
		old.close()
	}
	if mine {
		c.cs, c.err = l.connect(ctx, k, url, level)
		close(c.ready)
		if c.err != nil {
			l.remove(k, c)
			l.p.record(k, c.err)
			return nil, c.err
		}
		go func() { // a session the server ends is reopened on next use
			c.cs.Wait()
			l.remove(k, c)
		}()
		return c.cs, nil
	}
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, Classify(ctx, k.Slug, ctx.Err())
	}
	if c.err != nil {
		return nil, c.err
	}
	return c.cs, nil
}

var errLaneClosed = errors.New("session closed")

func (l *Lane) connect(ctx context.Context, k Key, url string, level mcp.LoggingLevel) (*mcp.ClientSession, error) {
	header, err := l.p.opt.Credentials.Auth(ctx, k.App, k.Slug)
	if err != nil {
		return nil, &Error{Server: k.Slug, Kind: ErrCredentials, Err: err}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.p.opt.ConnectTimeout)
	defer cancel()
	cs, err := l.p.opt.Connector.Connect(ctx, url, header, l.client(k))
	if err != nil {
		if e := Classify(ctx, k.Slug, err); e != nil {
			return nil, e
		}
		return nil, &Error{Server: k.Slug, Kind: ErrUnreachable, Err: err}
	}
	if level != "" && cs.InitializeResult() != nil && cs.InitializeResult().Capabilities != nil && cs.InitializeResult().Capabilities.Logging != nil {
		_ = cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: level}) // best effort: its logs are extra
	}
	return cs, nil
}

func (l *Lane) remove(k Key, c *conn) {
	l.mu.Lock()
	if l.conns[k] == c {
		delete(l.conns, k)
	}
	l.mu.Unlock()
}

func (c *conn) close() {
	go func() { // may wait on the network; never under a lock
		<-c.ready
		if c.cs != nil {
			c.cs.Close()
		}
	}()
}

func (l *Lane) forget(k Key) {
	l.mu.Lock()
	c := l.conns[k]
	delete(l.conns, k)
	l.mu.Unlock()
	if c != nil {
		c.close()
	}
}

func (l *Lane) forgetAll() {
	l.mu.Lock()
	cs := l.conns
	l.conns = map[Key]*conn{}
	l.mu.Unlock()
	for _, c := range cs {
		c.close()
	}
}

// Close closes the lane's sessions and waits until they are closed.
func (l *Lane) Close() {
	l.p.mu.Lock()
	delete(l.p.lanes, l)
	l.p.mu.Unlock()
	l.mu.Lock()
	l.closed = true
	cs := l.conns
	l.conns = map[Key]*conn{}
	l.mu.Unlock()
	for _, c := range cs {
		<-c.ready
		if c.cs != nil {
			c.cs.Close()
		}
	}
}

// SetLevel sets the owner's log level on its open sessions and on those it opens later.
func (l *Lane) SetLevel(ctx context.Context, level mcp.LoggingLevel) {
	l.mu.Lock()
	l.level = level
	var live []*mcp.ClientSession
	for _, c := range l.conns {
		select {
		case <-c.ready:
			if c.cs != nil {
				live = append(live, c.cs)
			}
		default:
		}
	}
	l.mu.Unlock()
	for _, cs := range live {
		if init := cs.InitializeResult(); init != nil && init.Capabilities != nil && init.Capabilities.Logging != nil {
			_ = cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: level})
		}
	}
}

// Do runs use on a session to k at url within timeout, feeds the outcome to k's breaker and
// returns use's error as it is when the server answered, else an *Error. A session the
// server no longer knows is replaced and use retried once.
func (l *Lane) Do(ctx context.Context, k Key, url string, timeout time.Duration, use func(context.Context, *mcp.ClientSession) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		cs, err := l.Session(ctx, k, url)
		if err != nil {
			return err
		}
		err = use(ctx, cs)
		if err != nil && sessionGone(err) && attempt == 0 && ctx.Err() == nil {
			l.forgetSession(k, cs)
			continue
		}
		if refused := probe.BudgetRefused(ctx); err != nil && refused != nil { // the gateway's bound, not the server's failure
			return &Error{Server: k.Slug, Kind: ErrOverBudget, Err: refused}
		}
		outage := Classify(ctx, k.Slug, err)
		if outage != nil || !errors.Is(err, context.Canceled) { // a call its caller gave up says nothing
			l.p.record(k, outage)
		}
		if outage != nil {
			if errors.Is(outage, ErrUnreachable) {
				l.forgetSession(k, cs) // a fresh session next time
			}
			return outage
		}
		return err
	}
}

// forgetSession drops cs if it is still k's session.
func (l *Lane) forgetSession(k Key, cs *mcp.ClientSession) {
	l.mu.Lock()
	c := l.conns[k]
	if c != nil && c.cs == cs {
		delete(l.conns, k)
	} else {
		c = nil
	}
	l.mu.Unlock()
	if c != nil {
		c.close()
	}
}
