package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Connector opens MCP client sessions to upstream servers; *probe.Prober is the real one
// (same address policy, redirect rule, body bound and transport choice as probes).
type Connector interface {
	Connect(ctx context.Context, url string, header http.Header, c *mcp.Client) (*mcp.ClientSession, error)
}

// upstream is one MCP server of an app, as the gateway reaches it: a reused client
// session, its tool list (cached for a short while) and a circuit breaker.
type upstream struct {
	app, slug string

	mu        sync.Mutex
	url       string
	session   *mcp.ClientSession
	raw       *http.Client // for raw.go's tools/call on session, when it can
	rawVer    string       // session's protocol version, for raw calls
	tools     []*mcp.Tool
	toolsAt   time.Time
	toolsErr  error
	failures  int       // consecutive
	openUntil time.Time // circuit open: calls fail fast, tools are left out
}

// pool holds the upstreams of every app this replica has served.
type pool struct {
	g  *Gateway
	mu sync.Mutex
	m  map[[2]string]*upstream
}

func (p *pool) get(app, slug string) *upstream {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := [2]string{app, slug}
	u := p.m[k]
	if u == nil {
		u = &upstream{app: app, slug: slug}
		p.m[k] = u
	}
	return u
}

// forget drops what is known of a server (its URL or credentials changed, or it is gone).
func (p *pool) forget(app, slug string) {
	p.mu.Lock()
	u := p.m[[2]string{app, slug}]
	delete(p.m, [2]string{app, slug})
	p.mu.Unlock()
	if u != nil {
		u.mu.Lock()
		u.closeLocked()
		u.mu.Unlock()
	}
}

func (p *pool) forgetAll() {
	p.mu.Lock()
	m := p.m
	p.m = map[[2]string]*upstream{}
	p.mu.Unlock()
	for _, u := range m {
		u.mu.Lock()
		u.closeLocked()
		u.mu.Unlock()
	}
}

func (u *upstream) closeLocked() {
	if u.session != nil {
		go u.session.Close() // may wait on the network; never under the lock
		u.session = nil
	}
}

// errOpen: the circuit is open.
var errOpen = errors.New("circuit open")

// sessionFor returns a live session to the server at url, connecting when needed.
func (g *Gateway) sessionFor(ctx context.Context, u *upstream, url string) (*mcp.ClientSession, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if until := u.openUntil; time.Now().Before(until) {
		return nil, fmt.Errorf("%w for %s after %d failures", errOpen, time.Until(until).Round(time.Second), u.failures)
	}
	if u.session != nil && u.url == url {
		return u.session, nil
	}
	u.closeLocked()
	header, err := g.creds.Header(ctx, u.app, u.slug)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	app, slug := u.app, u.slug
	c := mcp.NewClient(&mcp.Implementation{Name: "agentmcp-gateway", Version: "1.0"}, &mcp.ClientOptions{
		// The server's own word that its tools changed reaches the agents at once.
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { g.serverChanged(app, slug, false) },
	})
	cctx, cancel := context.WithTimeout(ctx, g.opt.CallTimeout)
	defer cancel()
	cs, err := g.opt.Connector.Connect(cctx, url, header, c)
	if err != nil {
		return nil, err
	}
	go func() {
		// An upstream that ends the session is reconnected on next use.
		cs.Wait()
		u.mu.Lock()
		if u.session == cs {
			u.session = nil
		}
		u.mu.Unlock()
	}()
	u.session, u.url, u.raw, u.rawVer = cs, url, nil, ""
	if rc, ok := g.opt.Connector.(RawClienter); ok && cs.ID() != "" {
		if init := cs.InitializeResult(); init != nil && rawVersions[init.ProtocolVersion] {
			u.raw, u.rawVer = rc.SessionHTTPClient(header), init.ProtocolVersion
		}
	}
	return cs, nil
}

// rawFor returns how to make a raw call on cs (nil when it cannot be made).
func (u *upstream) rawFor(cs *mcp.ClientSession) (*http.Client, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.session != cs {
		return nil, ""
	}
	return u.raw, u.rawVer
}

// drop closes cs if it is still the session (the server said it no longer knows it).
func (u *upstream) drop(cs *mcp.ClientSession) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.session == cs {
		u.closeLocked()
	}
}

// result records the outcome of a use of the upstream for its circuit breaker; it
// reports whether the circuit has just opened.
func (u *upstream) result(err error, threshold int, cool time.Duration) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err == nil {
		u.failures, u.openUntil = 0, time.Time{}
		return false
	}
	if errors.Is(err, errOpen) {
		return false
	}
	u.failures++
	if u.failures >= threshold {
		// Doubling cool-downs, at most 5 minutes, while it keeps failing.
		d := min(cool<<min(u.failures-threshold, 5), 5*time.Minute)
		u.openUntil = time.Now().Add(d)
		u.closeLocked()
		return u.failures == threshold
	}
	if u.session != nil {
		u.closeLocked() // a fresh session next time
	}
	return false
}

func (u *upstream) open() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return time.Now().Before(u.openUntil)
}

// listTools returns the server's tools: cached for ttl, else from its live session.
// On failure it returns the last list it had (stale beats empty for a blip), with err.
func (g *Gateway) listTools(ctx context.Context, u *upstream, url string, fresh bool) ([]*mcp.Tool, error) {
	u.mu.Lock()
	if !fresh && u.url == url && !u.toolsAt.IsZero() && time.Since(u.toolsAt) < g.opt.ToolsTTL {
		tools, err := u.tools, u.toolsErr
		u.mu.Unlock()
		return tools, err
	}
	u.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, g.opt.ListTimeout)
	defer cancel()
	tools, err := g.fetchTools(ctx, u, url)
	opened := u.result(err, g.opt.BreakerThreshold, g.opt.BreakerCooldown)
	if opened {
		g.breakerOpened(u, err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil {
		u.toolsErr = err
		if u.url == url {
			return u.tools, err
		}
		return nil, err
	}
	u.tools, u.toolsAt, u.toolsErr, u.url = tools, time.Now(), nil, url
	return tools, nil
}

func (g *Gateway) fetchTools(ctx context.Context, u *upstream, url string) ([]*mcp.Tool, error) {
	cs, err := g.sessionFor(ctx, u, url)
	if err != nil {
		return nil, err
	}
	if init := cs.InitializeResult(); init != nil && (init.Capabilities == nil || init.Capabilities.Tools == nil) {
		return nil, nil // an MCP server without tools
	}
	var out []*mcp.Tool
	size := 0
	cursor := ""
	for range 1000 { // pages
		lt, err := cs.ListTools(ctx, &mcp.ListToolsParams{Cursor: cursor})
		if err != nil {
			return nil, fmt.Errorf("tools/list: %w", err)
		}
		for _, t := range lt.Tools {
			if len(out) == g.opt.MaxToolsPerServer {
				return out, nil
			}
			b, _ := json.Marshal(t)
			if size += len(b); size > g.opt.MaxToolBytesPerServer {
				return out, nil
			}
			out = append(out, t)
		}
		if lt.NextCursor == "" || lt.NextCursor == cursor {
			break
		}
		cursor = lt.NextCursor
	}
	return out, nil
}
