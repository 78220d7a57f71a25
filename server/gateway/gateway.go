// Package gateway serves each agent's MCP endpoint: one Streamable HTTP server (of the
// official go-sdk) whose tools are the tools of every MCP server attached to the agent,
// each call forwarded to its server under its own name with the server's stored
// credentials — never the caller's key.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentmcp/agentmcp/internal/redact"
	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/store"
)

// Store is what the gateway reads: agents and their servers; SaveProbe records a server
// whose circuit opened as failing, so its health says so.
type Store interface {
	GetAgent(ctx context.Context, appID, uid string) (store.Agent, error)
	AgentMCPServers(ctx context.Context, appID, uid string) ([]store.MCPServer, error)
	SaveProbe(ctx context.Context, appID, slug string, r store.ProbeRecord) error
}

// Options configure New. Zero values take the defaults.
type Options struct {
	Store       Store
	Credentials *keyring.Service
	Connector   Connector // how upstreams are reached (*probe.Prober)
	Logger      *slog.Logger
	Registry    prometheus.Registerer

	CallTimeout           time.Duration // per upstream call (default 30 s)
	ListTimeout           time.Duration // per upstream tools/list in a refresh (default 5 s)
	ToolsTTL              time.Duration // how long a server's tool list is reused (default 10 s)
	BreakerThreshold      int           // consecutive failures that open a circuit (default 3)
	BreakerCooldown       time.Duration // first open period, doubling (default 30 s)
	MaxSessions           int           // per replica (default 10,000)
	SessionIdle           time.Duration // idle sessions are closed after (default 30 min)
	PageSize              int           // tools per tools/list page (default 1,000)
	MaxToolsPerServer     int           // default 2,000
	MaxToolBytesPerServer int           // default 8 MiB

	sdkLogger *slog.Logger
}

// Gateway is the MCP endpoint of every agent. It is safe for concurrent use.
type Gateway struct {
	opt   Options
	st    Store
	creds *keyring.Service
	log   *slog.Logger
	m     *metrics

	mu     sync.Mutex
	agents map[[2]string]*agentState

	pool     *pool
	sessions *sessions
	stop     chan struct{}
	stopOnce sync.Once
}

// New returns a gateway; Close stops its background work.
func New(o Options) *Gateway {
	if o.CallTimeout <= 0 {
		o.CallTimeout = 30 * time.Second
	}
	if o.ListTimeout <= 0 {
		o.ListTimeout = 5 * time.Second
	}
	if o.ToolsTTL <= 0 {
		o.ToolsTTL = 10 * time.Second
	}
	if o.BreakerThreshold <= 0 {
		o.BreakerThreshold = 3
	}
	if o.BreakerCooldown <= 0 {
		o.BreakerCooldown = 30 * time.Second
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 10000
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 30 * time.Minute
	}
	if o.PageSize <= 0 {
		o.PageSize = 1000
	}
	if o.MaxToolsPerServer <= 0 {
		o.MaxToolsPerServer = 2000
	}
	if o.MaxToolBytesPerServer <= 0 {
		o.MaxToolBytesPerServer = 8 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.sdkLogger = slog.New(slog.DiscardHandler)
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	g := &Gateway{opt: o, st: o.Store, creds: o.Credentials, log: o.Logger, m: newMetrics(o.Registry),
		agents: map[[2]string]*agentState{}, sessions: &sessions{m: map[string]*session{}, max: o.MaxSessions}, stop: make(chan struct{})}
	g.pool = &pool{g: g, m: map[[2]string]*upstream{}}
	go g.janitor()
	return g
}

// Close stops the background work and closes every session, upstream ones too.
func (g *Gateway) Close() {
	g.stopOnce.Do(func() { close(g.stop) })
	g.sessions.sweep(-1)
	g.pool.forgetAll()
}

func (g *Gateway) janitor() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
			g.sessions.sweep(g.opt.SessionIdle)
			g.mu.Lock()
			for k, a := range g.agents {
				a.mu.Lock()
				idle := a.sessions == 0 && time.Since(a.idleAt) > g.opt.SessionIdle
				a.mu.Unlock()
				if idle {
					delete(g.agents, k)
				}
			}
			g.mu.Unlock()
		}
	}
}

func (g *Gateway) agent(app, uid string) *agentState {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := [2]string{app, uid}
	a := g.agents[k]
	if a == nil {
		a = g.newAgent(app, uid)
		a.idleAt = time.Now()
		g.agents[k] = a
	}
	return a
}

// Serve answers one request to agent uid's endpoint by the caller key (already
// authenticated and allowed to use this agent). It returns ErrNotFound for an agent
// that does not exist in the key's app.
func (g *Gateway) Serve(w http.ResponseWriter, r *http.Request, key store.APIKey, uid string) error {
	g.mu.Lock()
	a := g.agents[[2]string{key.AppID, uid}]
	g.mu.Unlock()
	known := false
	if a != nil { // a live agent not touched since its last load exists: the feed says when it changes
		a.mu.Lock()
		known = !a.dirty && !a.loadedAt.IsZero() && a.exists
		a.mu.Unlock()
	}
	if !known {
		if _, err := g.st.GetAgent(r.Context(), key.AppID, uid); err != nil {
			return err
		}
		a = g.agent(key.AppID, uid)
	}
	rc := http.NewResponseController(w)
	if r.Method == http.MethodGet {
		rc.SetWriteDeadline(time.Time{}) // a standing stream for notifications
	} else {
		rc.SetWriteDeadline(time.Now().Add(g.opt.CallTimeout + 10*time.Second))
	}
	g.serveMCP(w, r, a, key.ID)
	return nil
}

// Changed applies a change of the store (from the change feed): the agents it touches
// refresh their tools, which sends notifications/tools/list_changed to their sessions.
func (g *Gateway) Changed(c store.Change) {
	switch c.Kind {
	case store.ChangeAgent:
		g.mu.Lock()
		a := g.agents[[2]string{c.AppID, c.Key}]
		g.mu.Unlock()
		if a != nil {
			a.markDirty()
		}
	case store.ChangeServer:
		g.serverChanged(c.AppID, c.Key, true)
	case store.ChangeReset:
		g.pool.forgetAll()
		g.mu.Lock()
		all := make([]*agentState, 0, len(g.agents))
		for _, a := range g.agents {
			all = append(all, a)
		}
		g.mu.Unlock()
		for _, a := range all {
			a.markDirty()
		}
	}
}

// serverChanged refreshes the agents of app that use slug; forget drops its session and
// cached tools first (its URL, credentials or existence may have changed).
func (g *Gateway) serverChanged(app, slug string, forget bool) {
	if forget {
		g.pool.forget(app, slug)
	} else {
		u := g.pool.get(app, slug)
		u.mu.Lock()
		u.toolsAt = time.Time{}
		u.mu.Unlock()
	}
	g.mu.Lock()
	var hit []*agentState
	for k, a := range g.agents {
		if k[0] != app {
			continue
		}
		a.mu.Lock()
		_, uses := a.slugs[slug]
		a.mu.Unlock()
		if uses {
			hit = append(hit, a)
		}
	}
	g.mu.Unlock()
	for _, a := range hit {
		a.markDirty()
	}
}

// breakerOpened records on the server's health that the gateway gave up on it for a while.
func (g *Gateway) breakerOpened(u *upstream, cause error) {
	g.log.Warn("gateway: circuit opened", slog.String("app_id", u.app), slog.String("server", u.slug), slog.String("error", trim(cause.Error())))
	status := "unreachable"
	if strings.Contains(cause.Error(), "did not answer") || errors.Is(cause, context.DeadlineExceeded) {
		status = "timeout"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec := store.ProbeRecord{Status: status, CheckedAt: time.Now().UnixMilli(), Error: "gateway: " + trim(cause.Error()), Capabilities: map[string]any{}}
	if err := g.st.SaveProbe(ctx, u.app, u.slug, rec); err != nil && !errors.Is(err, store.ErrNotFound) {
		g.log.Warn("gateway: recording a failing server", slog.String("server", u.slug), slog.String("error", redact.Text(err.Error())))
	}
	g.serverChanged(u.app, u.slug, false)
}
