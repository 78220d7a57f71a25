// Package gateway serves each agent's MCP endpoint: one Streamable HTTP server of the
// official go-sdk per agent, whose tools, prompts, resources and resource templates are
// those of every MCP server attached to the agent (package aggregate names them), each
// request relayed to its server (package upstream reaches it) with the server's stored
// credentials — never the caller's key. Everything a server may ask back during a call
// (sampling, elicitation, roots) goes to the client session that made the call.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentmcp/agentmcp/internal/redact"
	"github.com/agentmcp/agentmcp/internal/toolnames"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/gateway/aggregate"
	"github.com/agentmcp/agentmcp/server/gateway/upstream"
	"github.com/agentmcp/agentmcp/store"
)

// Store is what the gateway reads: agents and their servers; SaveProbe records a server
// whose circuit opened as failing, so its health says so.
type Store interface {
	GetAgent(ctx context.Context, appID, uid string) (store.Agent, error)
	AgentMCPServers(ctx context.Context, appID, uid string) ([]store.MCPServer, error)
	SaveProbe(ctx context.Context, appID, slug string, r store.ProbeRecord) error
	PinStore
}

// Connector opens MCP client sessions to upstream servers (*probe.Prober).
type Connector = upstream.Connector

// Options configure New. Zero values take the defaults.
type Options struct {
	Store       Store
	Credentials upstream.Credentials // what upstreams are sent (*keyring.Service, *oauthclient.Service)
	Connector   Connector            // how upstreams are reached (*probe.Prober)
	Logger      *slog.Logger
	Registry    prometheus.Registerer

	// Budget, when set, charges the bytes of upstream responses read for a relayed request
	// to the agent's app (admission.Controller.Bytes) until the returned func is called.
	Budget func(ctx context.Context, app string) (context.Context, func())
	// AdmitSession, when set, is asked before this replica makes a session (an initialize,
	// or one rebuilt under another replica's id) of key keyID on agent app/uid: an error
	// refuses it (a *admission.Refused answers 429 with Retry-After); done is called when
	// the session ends (admission.Controller.Session).
	AdmitSession func(app, uid, keyID string) (done func(), err error)
	// ToolNames, when set, overrides each agent's naming mode (its gateway.toolNames).
	ToolNames func(store.Agent) string
	// PublicURL is the server's public base URL: its origin is always allowed.
	PublicURL string
	// AllowedOrigins are the other browser origins (scheme://host[:port]) that may call.
	AllowedOrigins []string

	CallTimeout           time.Duration // per upstream call (default 30 s)
	ListTimeout           time.Duration // per upstream listing in a refresh (default 5 s)
	ToolsTTL              time.Duration // how long a server's listing is reused (default 10 s)
	BreakerThreshold      int           // consecutive outages that open a circuit (default 3)
	BreakerCooldown       time.Duration // first open period, doubling (default 30 s)
	MaxSessions           int           // per replica (default 10,000)
	SessionIdle           time.Duration // idle sessions are closed after (default 30 min)
	PageSize              int           // items per list page (default 1,000)
	MaxToolsPerServer     int           // items of each kind per server (default 2,000)
	MaxToolBytesPerServer int           // bytes of each kind's items per server (default 8 MiB)
}

// Gateway is the MCP endpoint of every agent. It is safe for concurrent use.
type Gateway struct {
	opt     Options
	st      Store
	log     *slog.Logger
	m       *metrics
	changes *prometheus.CounterVec // definitions found changed since pinned
	origins origins

	mu     sync.Mutex
	agents map[[2]string]*agentState

	pool     *upstream.Pool
	shared   *upstream.Lane // lists catalogues, serves requests made outside a session
	listings *listings
	relays   *relays
	subs     *subscriptions
	sessions *sessions
	stop     chan struct{}
	stopOnce sync.Once
}

// New returns a gateway; Close stops its background work and closes its sessions.
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
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	g := &Gateway{opt: o, st: o.Store, log: o.Logger, m: newMetrics(o.Registry), changes: newChangesMetric(o.Registry), origins: newOrigins(o.PublicURL, o.AllowedOrigins),
		agents: map[[2]string]*agentState{}, sessions: &sessions{m: map[string]*session{}, max: o.MaxSessions, admit: o.AdmitSession}, stop: make(chan struct{})}
	var creds upstream.Credentials = noCredentials{}
	if o.Credentials != nil {
		creds = o.Credentials
	}
	g.pool = upstream.NewPool(upstream.Options{Connector: o.Connector, Credentials: creds, ConnectTimeout: o.CallTimeout,
		BreakerThreshold: o.BreakerThreshold, BreakerCooldown: o.BreakerCooldown, Opened: g.breakerOpened})
	g.shared, _ = g.pool.NewLane(g.sharedClient)
	// A shared session that ended may have missed */list_changed; the next listing reopens it.
	g.shared.OnEnded(func(k upstream.Key) { g.serverChanged(k, false) })
	g.listings = &listings{g: g, m: map[upstream.Key]*listing{}}
	g.relays = &relays{m: map[*mcp.ServerSession]*relay{}}
	g.subs = &subscriptions{g: g, m: map[subKey]map[*mcp.ServerSession]subscriber{}, keepers: map[upstream.Key]bool{}, ends: map[*mcp.ClientSession]chan struct{}{}}
	g.sessions.closed = func(ss *mcp.ServerSession) {
		g.subs.dropSession(ss)
		g.relays.close(ss)
	}
	go g.janitor()
	return g
}

type noCredentials struct{}

func (noCredentials) Auth(context.Context, string, string) (probe.Auth, error) { return nil, nil }

// Close stops the background work and closes every session, upstream ones too; it
// returns when the upstream sessions are closed.
func (g *Gateway) Close() {
	g.stopOnce.Do(func() { close(g.stop) })
	g.sessions.sweep(-1)
	g.relays.closeAll()
	g.pool.Close()
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
	select {
	case <-g.stop: // closed: sessions are not rebuilt on a gateway shutting down
		w.Header().Set("Retry-After", "1")
		http.Error(w, "Service Unavailable: the gateway is shutting down", http.StatusServiceUnavailable)
		return nil
	default:
	}
	if !g.origins.allowed(r) {
		http.Error(w, "Forbidden: the request's Origin or Host is not this server's (DNS rebinding protection)", http.StatusForbidden)
		return nil
	}
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
// refresh their catalogue, which sends */list_changed to their sessions.
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
		g.serverChanged(upstream.Key{App: c.AppID, Slug: c.Key}, true)
	case store.ChangeReset:
		g.pool.ForgetAll()
		g.listings.forgetAll()
		for _, a := range g.allAgents() {
			a.markDirty()
		}
	}
}

func (g *Gateway) allAgents() []*agentState {
	g.mu.Lock()
	defer g.mu.Unlock()
	all := make([]*agentState, 0, len(g.agents))
	for _, a := range g.agents {
		all = append(all, a)
	}
	return all
}

// serverChanged refreshes the agents of k's app that use k; forget closes its sessions
// first (its URL, credentials or existence may have changed).
func (g *Gateway) serverChanged(k upstream.Key, forget bool) {
	if forget {
		g.pool.Forget(k)
		g.listings.forget(k)
	} else {
		g.listings.stale(k)
	}
	var hit []*agentState
	for _, a := range g.allAgents() {
		if a.app != k.App {
			continue
		}
		a.mu.Lock()
		_, uses := a.slugs[k.Slug]
		a.mu.Unlock()
		if uses {
			hit = append(hit, a)
		}
	}
	for _, a := range hit {
		a.markDirty()
	}
}

// breakerOpened records on the server's health that the gateway gave up on it for a while.
func (g *Gateway) breakerOpened(k upstream.Key, cause error) {
	g.log.Warn("gateway: circuit opened", slog.String("app_id", k.App), slog.String("server", k.Slug), slog.String("error", trim(cause.Error())))
	status := "unreachable"
	if errors.Is(cause, upstream.ErrTimeout) {
		status = "timeout"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec := store.ProbeRecord{Status: status, CheckedAt: time.Now().UnixMilli(), Error: "gateway: " + trim(cause.Error()), Capabilities: map[string]any{}}
	if err := g.st.SaveProbe(ctx, k.App, k.Slug, rec); err != nil && !errors.Is(err, store.ErrNotFound) {
		g.log.Warn("gateway: recording a failing server", slog.String("server", k.Slug), slog.String("error", redact.Text(err.Error())))
	}
	g.serverChanged(k, false)
}

// modeOf is agent a's naming mode: its gateway setting, unless Options.ToolNames says.
func (g *Gateway) modeOf(a store.Agent) aggregate.Mode {
	mode := a.Gateway.ToolNames
	if g.opt.ToolNames != nil {
		mode = g.opt.ToolNames(a)
	}
	if mode == toolnames.Original {
		return aggregate.Original
	}
	return aggregate.Prefixed
}

// ToolName is the name the tool of server slug has in a prefixed agent's gateway.
func ToolName(slug, tool string) string { return aggregate.PrefixedName(slug, tool) }

// trim bounds an upstream's error text in a result.
func trim(s string) string {
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return strings.ToValidUTF8(s, "")
}
