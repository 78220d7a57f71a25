package gateway

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/internal/redact"
	"github.com/agentmcp/agentmcp/server/gateway/aggregate"
	"github.com/agentmcp/agentmcp/server/gateway/upstream"
	"github.com/agentmcp/agentmcp/store"
)

// agentState is one agent as this replica serves it: an MCP server (of the SDK) whose
// items are its catalogue, shared by all its sessions.
type agentState struct {
	g        *Gateway
	app, uid string
	srv      *mcp.Server

	mu       sync.Mutex // guards the fields below; refresh holds refreshMu
	cat      *aggregate.Catalogue
	slugs    map[string]string // attached server → its URL
	dirty    bool
	exists   bool // at the last load
	loadedAt time.Time
	sessions int
	idleAt   time.Time

	refreshMu sync.Mutex
	// itemsMu: a refresh changes the SDK server's items under the write lock, list
	// requests read them under the read lock, so no listing sees half a refresh.
	itemsMu sync.RWMutex
	pages   pages // list pages as JSON, cleared when the items change
}

func (g *Gateway) newAgent(app, uid string) *agentState {
	a := &agentState{g: g, app: app, uid: uid, cat: aggregate.Build(aggregate.Policy{Mode: aggregate.Prefixed}, nil), slugs: map[string]string{}, dirty: true}
	a.srv = mcp.NewServer(&mcp.Implementation{Name: "agentmcp-gateway", Title: "agentmcp gateway of agent " + uid, Version: "1.0"}, &mcp.ServerOptions{
		Capabilities:       &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}},
		PageSize:           g.opt.PageSize,
		Instructions:       "Tools, prompts and resources of the MCP servers attached to agent " + uid + ".",
		CompletionHandler:  a.complete,
		SubscribeHandler:   a.subscribe,
		UnsubscribeHandler: a.unsubscribe,
	})
	a.srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			switch method {
			case "initialize":
				a.ensure(ctx, false)
				res, err := next(ctx, method, req)
				if ir, ok := res.(*mcp.InitializeResult); ok && err == nil {
					a.mu.Lock()
					ir.Capabilities = a.cat.Caps // the union of its servers'
					a.mu.Unlock()
				}
				return res, err
			case "tools/list", "prompts/list", "resources/list", "resources/templates/list":
				a.readyToList(ctx)
				a.itemsMu.RLock()
				defer a.itemsMu.RUnlock()
				return a.pages.serve(ctx, next, method, req)
			case "tools/call", "prompts/get", "resources/read", "completion/complete", "resources/subscribe":
				a.readyToCall(ctx)
				if err := a.refuseHeld(req); err != nil {
					return nil, err
				}
			case "logging/setLevel":
				res, err := next(ctx, method, req)
				if err == nil {
					if sr, ok := req.(*mcp.ServerRequest[*mcp.SetLoggingLevelParams]); ok && sr.Params != nil {
						if l := a.g.relays.lane(a, sr.Session); l != nil {
							l.SetLevel(ctx, sr.Params.Level)
						}
					}
				}
				return res, err
			}
			return next(ctx, method, req)
		}
	})
	return a
}

// readyToList brings the catalogue up to date for a list: fresh, and a refresh under way
// finished first.
func (a *agentState) readyToList(ctx context.Context) {
	a.ensure(ctx, false)
	a.refreshMu.Lock()
	a.refreshMu.Unlock()
}

// readyToCall waits until a request sees the agent's current catalogue: a detach may not
// be applied yet (never reach a server no longer attached), and a refresh under way (an
// attach or detach being applied) finishes first.
func (a *agentState) readyToCall(ctx context.Context) {
	a.mu.Lock()
	dirty := a.dirty
	a.mu.Unlock()
	if dirty {
		a.ensure(ctx, false)
	}
	a.refreshMu.Lock()
	a.refreshMu.Unlock()
}

// markDirty asks for a refresh, at once for agents with open sessions.
func (a *agentState) markDirty() {
	a.mu.Lock()
	a.dirty = true
	live := a.sessions > 0
	a.mu.Unlock()
	if live {
		go a.ensure(context.Background(), false)
	}
}

// ensure refreshes the agent's catalogue when it is dirty or older than the TTL.
func (a *agentState) ensure(ctx context.Context, force bool) {
	stale := func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return force || a.dirty || time.Since(a.loadedAt) > a.g.opt.ToolsTTL
	}
	if !stale() {
		return
	}
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	if !stale() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.g.opt.ListTimeout+time.Second)
	defer cancel()
	if err := a.refresh(ctx); err != nil {
		a.g.log.Warn("gateway: refreshing the catalogue of an agent", slog.String("app_id", a.app), slog.String("agent", a.uid), slog.String("error", redact.Text(err.Error())))
	}
}

// refresh reads the agent and its attached servers, gathers their listings (in parallel,
// each bounded in time, from cache when fresh) and brings the SDK server's items in line;
// the SDK tells open sessions with */list_changed when anything changed.
func (a *agentState) refresh(ctx context.Context) error {
	a.mu.Lock()
	a.dirty = false // changes from here on mark it again
	a.mu.Unlock()
	fail := func(err error) error {
		a.mu.Lock()
		a.dirty = true
		a.mu.Unlock()
		return err
	}
	mode := aggregate.Prefixed
	ag, err := a.g.st.GetAgent(ctx, a.app, a.uid)
	var policy *store.Agent // its tool policy
	if err == nil {
		mode, policy = a.g.modeOf(ag), &ag
	} else if !errors.Is(err, store.ErrNotFound) {
		return fail(err)
	}
	var servers []store.MCPServer
	exists := err == nil
	if exists {
		servers, err = a.g.st.AgentMCPServers(ctx, a.app, a.uid)
		if errors.Is(err, store.ErrNotFound) {
			exists, servers = false, nil // deleted: nothing served, requests refused
		} else if err != nil {
			return fail(err)
		}
	}
	results := make([]aggregate.Listing, len(servers))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, s := range servers {
		k := upstream.Key{App: a.app, Slug: s.Slug}
		results[i].Slug = s.Slug
		if a.g.pool.Open(k) {
			continue // left out while its circuit is open
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], _ = a.g.listings.get(ctx, k, s.URL)
			results[i].Slug = s.Slug
		})
	}
	wg.Wait()
	cat := a.build(ctx, policy, mode, results)

	a.mu.Lock()
	old := a.cat
	a.mu.Unlock()
	a.itemsMu.Lock()
	a.apply(old, cat)
	a.pages.clear()
	slugs := make(map[string]string, len(servers))
	for _, s := range servers {
		slugs[s.Slug] = s.URL
	}
	a.mu.Lock()
	a.cat, a.slugs, a.loadedAt, a.exists = cat, slugs, time.Now(), exists
	a.mu.Unlock()
	a.itemsMu.Unlock()
	return nil
}

// apply changes the SDK server's items from old's to cat's: one handler per capability.
func (a *agentState) apply(old, cat *aggregate.Catalogue) {
	if gone := goneKeys(old.Tools, cat.Tools); len(gone) > 0 {
		a.srv.RemoveTools(gone...)
	}
	if gone := goneKeys(old.Prompts, cat.Prompts); len(gone) > 0 {
		a.srv.RemovePrompts(gone...)
	}
	if gone := goneKeys(old.Resources, cat.Resources); len(gone) > 0 {
		a.srv.RemoveResources(gone...)
	}
	if gone := goneKeys(old.Templates, cat.Templates); len(gone) > 0 {
		a.srv.RemoveResourceTemplates(gone...)
	}
	for name, it := range cat.Tools {
		if o, ok := old.Tools[name]; !ok || o.Hash != it.Hash || o.Route != it.Route {
			a.add("tool", it.Route, func() { a.srv.AddTool(it.Served, a.callTool(it.Route)) })
		}
	}
	for name, it := range cat.Prompts {
		if o, ok := old.Prompts[name]; !ok || o.Hash != it.Hash || o.Route != it.Route {
			a.add("prompt", it.Route, func() { a.srv.AddPrompt(it.Served, a.getPrompt(it.Route)) })
		}
	}
	for uri, it := range cat.Resources {
		if o, ok := old.Resources[uri]; !ok || o.Hash != it.Hash || o.Route != it.Route {
			a.add("resource", it.Route, func() { a.srv.AddResource(it.Served, a.readResource(it.Route.Slug, uri, it.Route.Name)) })
		}
	}
	for tmpl, it := range cat.Templates {
		if o, ok := old.Templates[tmpl]; !ok || o.Hash != it.Hash || o.Route != it.Route {
			a.add("resource template", it.Route, func() { a.srv.AddResourceTemplate(it.Served, a.readTemplated(it.Route.Slug, tmpl != it.Route.Name)) })
		}
	}
}

func goneKeys[T any](old, now map[string]T) []string {
	var gone []string
	for k := range old {
		if _, ok := now[k]; !ok {
			gone = append(gone, k)
		}
	}
	slices.Sort(gone)
	return gone
}

// add runs an Add of the SDK, which panics on items it cannot serve.
func (a *agentState) add(kind string, r aggregate.Route, f func()) {
	defer func() {
		if p := recover(); p != nil {
			a.g.log.Warn("gateway: an item could not be served", slog.String("kind", kind), slog.String("server", r.Slug), slog.String("name", r.Name), slog.Any("reason", p))
		}
	}()
	f()
}

// route returns where a request for slug goes now: its URL, and whether it is attached.
func (a *agentState) route(slug string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	url, ok := a.slugs[slug]
	return url, ok
}
