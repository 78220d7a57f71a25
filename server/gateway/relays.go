package gateway

import (
	"context"
	"fmt"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/server/gateway/upstream"
)

// A relay is what one client session of the gateway holds upstream: its own lane of
// sessions (one per server, opened on first use) made by a client that declares exactly
// the capabilities the gateway's client declared, so that whatever a server asks back —
// sampling, elicitation, roots — and whatever it sends — progress, log messages — goes to
// that client session and no other. A client that did not declare a capability has none
// upstream either: the server gets the error such a client gives.
type relay struct {
	ss   *mcp.ServerSession
	lane *upstream.Lane

	mu       sync.Mutex
	next     int64
	progress map[string]progressTarget // the token sent upstream → the client's own
	inflight map[int64]context.Context // calls under way, by their number
}

// progressTarget is where a server's progress for one call goes: the client's token, sent
// in the context of the client's request (so the SDK writes it to that request's stream).
type progressTarget struct {
	ctx   context.Context
	token any
}

type relays struct {
	mu sync.Mutex
	m  map[*mcp.ServerSession]*relay
}

// lane returns ss's lane (a new one on first use); nil once the gateway is closed.
func (rs *relays) lane(a *agentState, ss *mcp.ServerSession) *upstream.Lane {
	if r := rs.get(a, ss); r != nil {
		return r.lane
	}
	return nil
}

func (rs *relays) get(a *agentState, ss *mcp.ServerSession) *relay {
	if ss == nil {
		return nil
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r := rs.m[ss]; r != nil {
		return r
	}
	r := &relay{ss: ss, progress: map[string]progressTarget{}, inflight: map[int64]context.Context{}}
	lane, ok := a.g.pool.NewLane(func(k upstream.Key) *mcp.Client { return a.g.relayClient(k, r) })
	if !ok {
		return nil
	}
	r.lane = lane
	rs.m[ss] = r
	return r
}

// close closes ss's lane, when ss ends.
func (rs *relays) close(ss *mcp.ServerSession) {
	rs.mu.Lock()
	r := rs.m[ss]
	delete(rs.m, ss)
	rs.mu.Unlock()
	if r != nil {
		r.lane.Close()
	}
}

func (rs *relays) closeAll() {
	rs.mu.Lock()
	m := rs.m
	rs.m = map[*mcp.ServerSession]*relay{}
	rs.mu.Unlock()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32) // each close may wait on a server: many at once, not all
	for _, r := range m {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r.lane.Close()
		})
	}
	wg.Wait()
}

// begin registers a call under way in the client's request context ctx and returns the
// progress token to send upstream in place of the client's (nil when it sent none).
func (r *relay) begin(ctx context.Context, clientToken any) (upToken any, end func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	n := r.next
	r.inflight[n] = ctx
	var tok string
	if clientToken != nil {
		tok = fmt.Sprintf("agentmcp-%d", n)
		r.progress[tok] = progressTarget{ctx: ctx, token: clientToken}
		upToken = tok
	}
	return upToken, func() {
		r.mu.Lock()
		delete(r.inflight, n)
		if tok != "" {
			delete(r.progress, tok)
		}
		r.mu.Unlock()
	}
}

// callContext is the context to send a server's request or log message in: that of a
// call under way (the newest), so the SDK writes it to that call's stream, else a
// background one (the session's standing stream).
func (r *relay) callContext() context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	var best int64
	for n := range r.inflight {
		best = max(best, n)
	}
	if ctx := r.inflight[best]; ctx != nil {
		return context.WithoutCancel(ctx)
	}
	return context.Background()
}

// relayClient is the client of relay r's session to server k.
func (g *Gateway) relayClient(k upstream.Key, r *relay) *mcp.Client {
	var declared *mcp.ClientCapabilities
	if ip := r.ss.InitializeParams(); ip != nil {
		declared = ip.Capabilities
	}
	if declared == nil {
		declared = &mcp.ClientCapabilities{}
	}
	opts := g.clientOptions(k)
	opts.Capabilities = &mcp.ClientCapabilities{}
	opts.ProgressNotificationHandler = func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
		tok, _ := req.Params.ProgressToken.(string)
		r.mu.Lock()
		t, ok := r.progress[tok]
		r.mu.Unlock()
		if !ok {
			return // a call that ended, or a token this gateway did not send
		}
		p := *req.Params
		p.ProgressToken = t.token
		_ = r.ss.NotifyProgress(t.ctx, &p)
	}
	opts.LoggingMessageHandler = func(_ context.Context, req *mcp.LoggingMessageRequest) {
		_ = r.ss.Log(r.callContext(), req.Params) // the SDK drops it below the client's level
	}
	if declared.Sampling != nil {
		opts.Capabilities.Sampling = declared.Sampling
		opts.CreateMessageHandler = func(ctx context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			ctx, stop := withCancel(r.callContext(), ctx)
			defer stop()
			return r.ss.CreateMessage(ctx, req.Params)
		}
	}
	if declared.Elicitation != nil {
		opts.Capabilities.Elicitation = declared.Elicitation
		// Relayed by the middleware below, before the SDK's client checks the schema
		// against the forms it knows (it refuses SEP-1330's multi-select enums): the
		// client that answers is the judge.
		opts.ElicitationHandler = func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "not relayed"}
		}
	}
	elicit := declared.Elicitation != nil
	if elicit {
		opts.ElicitationCompleteHandler = func(_ context.Context, req *mcp.ElicitationCompleteNotificationRequest) {
			_ = r.ss.NotifyElicitationComplete(r.callContext(), req.Params)
		}
	}
	roots := declared.RootsV2 != nil
	if roots {
		opts.Capabilities.RootsV2 = declared.RootsV2
	}
	c := mcp.NewClient(clientImpl, opts)
	c.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method == "elicitation/create" && elicit {
				er, ok := req.(*mcp.ElicitRequest)
				if !ok {
					return next(ctx, method, req)
				}
				ctx, stop := withCancel(r.callContext(), ctx)
				defer stop()
				return r.ss.Elicit(ctx, er.Params)
			}
			if method != "roots/list" {
				return next(ctx, method, req)
			}
			if !roots {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: "the client does not support roots"}
			}
			var p *mcp.ListRootsParams
			if lr, ok := req.(*mcp.ListRootsRequest); ok {
				p = lr.Params
			}
			ctx, stop := withCancel(r.callContext(), ctx)
			defer stop()
			return r.ss.ListRoots(ctx, p)
		}
	})
	return c
}

var clientImpl = &mcp.Implementation{Name: "agentmcp-gateway", Version: "1.0"}

// clientOptions are the handlers every upstream client has: a server's word that its
// items changed reaches the agents at once; a resource update reaches its subscribers.
func (g *Gateway) clientOptions(k upstream.Key) *mcp.ClientOptions {
	changed := func() { g.serverChanged(k, false) }
	return &mcp.ClientOptions{
		ToolListChangedHandler:     func(context.Context, *mcp.ToolListChangedRequest) { changed() },
		PromptListChangedHandler:   func(context.Context, *mcp.PromptListChangedRequest) { changed() },
		ResourceListChangedHandler: func(context.Context, *mcp.ResourceListChangedRequest) { changed() },
	}
}

// sharedClient is the client of the shared lane: it lists catalogues and holds
// subscriptions (the SDK fans an update out to the client sessions that subscribed).
func (g *Gateway) sharedClient(k upstream.Key) *mcp.Client {
	opts := g.clientOptions(k)
	opts.Capabilities = &mcp.ClientCapabilities{}
	opts.ResourceUpdatedHandler = func(ctx context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
		g.subs.updated(ctx, k, req.Params)
	}
	return mcp.NewClient(clientImpl, opts)
}

// withCancel is ctx (values: the client's request, to pick its stream) cancelled when
// cancel is.
func withCancel(ctx, cancel context.Context) (context.Context, func()) {
	c, stop := context.WithCancel(ctx)
	unhook := context.AfterFunc(cancel, stop)
	return c, func() { unhook(); stop() }
}
