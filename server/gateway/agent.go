package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/internal/redact"
	"github.com/agentmcp/agentmcp/store"
)

// validName is what OpenAI-style clients accept as a tool name.
var validName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// ToolName is the name a tool of the server slug has in an agent's gateway:
// `{slug}__{tool}` when that is a valid name, else a short name that is: the same with
// every other character replaced by '_', cut to fit, and 8 hex digits of a hash of both
// originals (so names stay unique and the same across replicas and restarts).
func ToolName(slug, tool string) string {
	if n := slug + "__" + tool; validName.MatchString(n) {
		return n
	}
	return shortName(slug, tool, 8)
}

func shortName(slug, tool string, hexDigits int) string {
	clean := []byte(slug + "__" + tool)
	for i, c := range clean {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			clean[i] = '_'
		}
	}
	h := sha256.Sum256([]byte(slug + "\x00" + tool))
	suffix := "_" + hex.EncodeToString(h[:])[:hexDigits]
	if keep := 64 - len(suffix); len(clean) > keep {
		clean = clean[:keep]
	}
	return string(clean) + suffix
}

// route is where a gateway tool goes.
type route struct {
	slug, tool string // the server and the tool's own name there
	hash       string // of the tool's definition, to see changes
}

// agentState is one agent as this replica serves it: an MCP server (of the SDK) whose
// tools are those of the agent's attached servers, shared by all its sessions.
type agentState struct {
	g        *Gateway
	app, uid string
	srv      *mcp.Server

	mu       sync.Mutex // guards the fields below; refresh holds refreshMu
	routes   map[string]route
	slugs    map[string]string // attached server → its URL
	dirty    bool
	exists   bool // at the last load
	loadedAt time.Time
	sessions int
	idleAt   time.Time

	refreshMu sync.Mutex
	// toolsMu: a refresh changes the SDK server's tools under the write lock, tools/list
	// reads them under the read lock, so no listing sees half a refresh.
	toolsMu sync.RWMutex
}

func (g *Gateway) newAgent(app, uid string) *agentState {
	a := &agentState{g: g, app: app, uid: uid, routes: map[string]route{}, slugs: map[string]string{}, dirty: true}
	a.srv = mcp.NewServer(&mcp.Implementation{Name: "agentmcp-gateway", Title: "agentmcp gateway of agent " + uid, Version: "1.0"}, &mcp.ServerOptions{
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}},
		PageSize:     g.opt.PageSize,
		Logger:       g.opt.sdkLogger,
		Instructions: "Tools of the MCP servers attached to agent " + uid + ", each named {server}__{tool}.",
	})
	a.srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			switch method {
			case "tools/list":
				a.ensure(ctx, false)
				a.refreshMu.Lock() // a refresh under way finishes first
				a.refreshMu.Unlock()
				a.toolsMu.RLock()
				defer a.toolsMu.RUnlock()
			case "tools/call":
				a.readyToCall(ctx)
			}
			return next(ctx, method, req)
		}
	})
	return a
}

// readyToCall waits until a call sees the agent's current tools: a detach may not be
// applied yet (never call a tool no longer attached), and a refresh under way (an attach
// or detach being applied) finishes first.
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

// ensure refreshes the agent's tools when they are dirty or older than the tools TTL.
func (a *agentState) ensure(ctx context.Context, force bool) {
	a.mu.Lock()
	stale := force || a.dirty || time.Since(a.loadedAt) > a.g.opt.ToolsTTL
	a.mu.Unlock()
	if !stale {
		return
	}
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	a.mu.Lock()
	stale = force || a.dirty || time.Since(a.loadedAt) > a.g.opt.ToolsTTL
	a.mu.Unlock()
	if !stale {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.g.opt.ListTimeout+time.Second)
	defer cancel()
	if err := a.refresh(ctx); err != nil {
		a.g.log.Warn("gateway: refreshing the tools of an agent", slog.String("app_id", a.app), slog.String("agent", a.uid), slog.String("error", redact.Text(err.Error())))
	}
}

// refresh reads the agent's attached servers, gathers their tools (in parallel, each
// bounded in time, from cache when fresh) and brings the SDK server's tools in line; the
// SDK tells open sessions with notifications/tools/list_changed when anything changed.
func (a *agentState) refresh(ctx context.Context) error {
	a.mu.Lock()
	a.dirty = false // changes from here on mark it again
	a.mu.Unlock()
	servers, err := a.g.st.AgentMCPServers(ctx, a.app, a.uid)
	exists := err == nil
	if errors.Is(err, store.ErrNotFound) {
		servers = nil // deleted: no tools, and calls are refused
	} else if err != nil {
		a.mu.Lock()
		a.dirty = true
		a.mu.Unlock()
		return err
	}
	type listed struct {
		slug  string
		tools []*mcp.Tool
	}
	results := make([]listed, len(servers))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, s := range servers {
		u := a.g.pool.get(a.app, s.Slug)
		results[i].slug = s.Slug
		if u.open() {
			continue // left out while its circuit is open
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			tools, _ := a.g.listTools(ctx, u, s.URL, false)
			results[i].tools = tools
		})
	}
	wg.Wait()

	want := map[string]*mcp.Tool{}
	routes := map[string]route{}
	taken := map[string]string{} // name → slug\x00tool, to keep names unique
	for _, r := range results {
		for _, t := range r.tools {
			if t == nil || !objectSchema(t.InputSchema) {
				continue // the SDK cannot serve it; the probe shows what the server sent
			}
			name := ToolName(r.slug, t.Name)
			if other, ok := taken[name]; ok && other != r.slug+"\x00"+t.Name {
				name = shortName(r.slug, t.Name, 16)
			}
			taken[name] = r.slug + "\x00" + t.Name
			out := *t
			out.Name = name
			out.Meta = mcp.Meta{}
			for k, v := range t.Meta {
				out.Meta[k] = v
			}
			out.Meta["agentmcp/server"] = r.slug
			out.Meta["agentmcp/tool"] = t.Name
			b, _ := json.Marshal(out)
			h := sha256.Sum256(b)
			routes[name] = route{slug: r.slug, tool: t.Name, hash: hex.EncodeToString(h[:8])}
			want[name] = &out
		}
	}

	a.mu.Lock()
	old := a.routes
	a.mu.Unlock()
	var gone []string
	for name := range old {
		if _, ok := routes[name]; !ok {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	a.toolsMu.Lock()
	if len(gone) > 0 {
		a.srv.RemoveTools(gone...)
	}
	for name, r := range routes {
		if o, ok := old[name]; ok && o.hash == r.hash {
			continue
		}
		a.addTool(want[name], r)
	}
	slugs := make(map[string]string, len(servers))
	for _, s := range servers {
		slugs[s.Slug] = s.URL
	}
	a.mu.Lock()
	a.routes, a.slugs, a.loadedAt, a.exists = routes, slugs, time.Now(), exists
	a.mu.Unlock()
	a.toolsMu.Unlock()
	return nil
}

// objectSchema: the SDK serves only tools whose input schema is a JSON object schema.
func objectSchema(s any) bool {
	switch v := s.(type) {
	case map[string]any:
		return v["type"] == "object"
	case json.RawMessage:
		var m map[string]any
		return json.Unmarshal(v, &m) == nil && m["type"] == "object"
	}
	b, err := json.Marshal(s)
	if err != nil {
		return false
	}
	var m map[string]any
	return json.Unmarshal(b, &m) == nil && m["type"] == "object"
}

func (a *agentState) addTool(t *mcp.Tool, r route) {
	defer func() {
		if p := recover(); p != nil { // the SDK panics on tools it cannot serve
			a.g.log.Warn("gateway: a tool could not be served", slog.String("server", r.slug), slog.String("tool", r.tool), slog.Any("reason", p))
		}
	}()
	a.srv.AddTool(t, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return a.call(ctx, req, r)
	})
}

// call forwards a tools/call to the tool's server, under its original name. Whatever goes
// wrong upstream becomes a tool result with isError set, naming the server.
func (a *agentState) call(ctx context.Context, req *mcp.CallToolRequest, r route) (*mcp.CallToolResult, error) {
	start := time.Now()
	a.mu.Lock()
	url, attached := a.slugs[r.slug]
	a.mu.Unlock()
	if !attached {
		return nil, fmt.Errorf("tool %q is not attached to agent %q any more", req.Params.Name, a.uid)
	}
	u := a.g.pool.get(a.app, r.slug)
	res, outcome, err := a.g.forward(ctx, u, url, r.tool, req.Params)
	a.g.observe(a, r, outcome, time.Since(start))
	if err != nil {
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: err.Error()}}}, nil
	}
	return res, nil
}

// forward makes the call upstream with the per-call timeout; err is the message a caller
// sees (never the arguments, never a credential).
func (g *Gateway) forward(ctx context.Context, u *upstream, url, tool string, p *mcp.CallToolParamsRaw) (*mcp.CallToolResult, string, error) {
	ctx, cancel := context.WithTimeout(ctx, g.opt.CallTimeout)
	defer cancel()
	cs, err := g.sessionFor(ctx, u, url)
	if err == nil {
		var res *mcp.CallToolResult
		err = errRawUnusable
		if hc, ver := u.rawFor(cs); hc != nil {
			res, err = g.rawCall(ctx, hc, url, cs.ID(), ver, tool, p.Arguments)
			if errors.Is(err, errSessionGone) {
				u.drop(cs)
				cs, err = g.sessionFor(ctx, u, url)
				if err == nil {
					err = errRawUnusable // the new session's first call goes through the SDK
				}
			}
		}
		if errors.Is(err, errRawUnusable) {
			params := &mcp.CallToolParams{Name: tool, Arguments: p.Arguments}
			if len(p.Arguments) == 0 {
				params.Arguments = map[string]any{}
			}
			res, err = cs.CallTool(ctx, params)
		}
		if err == nil {
			u.result(nil, g.opt.BreakerThreshold, g.opt.BreakerCooldown)
			if res.IsError {
				return res, "tool_error", nil
			}
			return res, "ok", nil
		}
	}
	outcome := "error"
	switch {
	case errors.Is(err, errOpen):
		outcome = "unavailable"
		err = fmt.Errorf("MCP server %q is unavailable (%v): it failed repeatedly and is left out for a while", u.slug, err)
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		outcome = "timeout"
		err = fmt.Errorf("MCP server %q did not answer within %s", u.slug, g.opt.CallTimeout)
	default:
		err = fmt.Errorf("MCP server %q failed: %s", u.slug, trim(redact.Text(err.Error())))
	}
	if u.result(err, g.opt.BreakerThreshold, g.opt.BreakerCooldown) {
		g.breakerOpened(u, err)
	}
	return nil, outcome, err
}

// trim bounds an upstream's error text in a result.
func trim(s string) string {
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return strings.ToValidUTF8(s, "")
}
