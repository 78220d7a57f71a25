package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/yosida95/uritemplate/v3"

	"github.com/agentmcp/agentmcp/server/gateway/aggregate"
	"github.com/agentmcp/agentmcp/server/gateway/upstream"
)

// One handler per capability: each finds the item's server and own name in the agent's
// catalogue and relays the request on the client session's own lane.

// errNotAttached: the item's server was detached since the client listed it.
var errNotAttached = errors.New("not attached to the agent any more")

// relayOn runs use on a session to slug for the client session ss (its relay's lane, or
// the shared one for a request made outside any session) within the call timeout. The
// client's progress token is swapped for one of the relay's while it runs.
func (a *agentState) relayOn(ctx context.Context, ss *mcp.ServerSession, slug string, meta mcp.Meta, use func(context.Context, *mcp.ClientSession, mcp.Meta) error) error {
	url, ok := a.route(slug)
	if !ok {
		return fmt.Errorf("MCP server %q: %w", slug, errNotAttached)
	}
	k := upstream.Key{App: a.app, Slug: slug}
	r := a.g.relays.get(a, ss)
	if r == nil {
		return &upstream.Error{Server: slug, Kind: upstream.ErrUnreachable, Err: errors.New("the gateway is shutting down")}
	}
	tok, end := r.begin(ctx, meta["progressToken"])
	defer end()
	up := meta
	if tok != nil {
		up = make(mcp.Meta, len(meta))
		for k, v := range meta {
			up[k] = v
		}
		up["progressToken"] = tok
	}
	return r.lane.Do(ctx, k, url, a.g.opt.CallTimeout, func(ctx context.Context, cs *mcp.ClientSession) error {
		return use(ctx, cs, up)
	})
}

// protocolError is what a relayed request answers with err: the server's own JSON-RPC
// error as it gave it, else err (the SDK sends it as an internal error).
func protocolError(err error) error {
	var we *jsonrpc.Error
	if errors.As(err, &we) {
		return we
	}
	return err
}

func (a *agentState) callTool(r aggregate.Route) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		start := time.Now()
		var res *mcp.CallToolResult
		err := a.relayOn(ctx, req.Session, r.Slug, req.Params.Meta, func(ctx context.Context, cs *mcp.ClientSession, meta mcp.Meta) error {
			p := &mcp.CallToolParams{Meta: meta, Name: r.Name, Arguments: req.Params.Arguments}
			if len(req.Params.Arguments) == 0 {
				p.Arguments = map[string]any{}
			}
			var err error
			res, err = cs.CallTool(ctx, p)
			return err
		})
		var oe *upstream.Error
		outcome := "ok"
		switch {
		case errors.As(err, &oe):
			outcome = "error"
			switch {
			case errors.Is(err, upstream.ErrOpen):
				outcome = "unavailable"
			case errors.Is(err, upstream.ErrTimeout):
				outcome = "timeout"
			}
		case err != nil:
			outcome = "error"
		case res.IsError:
			outcome = "tool_error"
		}
		a.g.observe(a, r, outcome, time.Since(start))
		if oe != nil { // an outage is the tool's failure to the model, naming the server
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: trim(oe.Error())}}}, nil
		}
		if err != nil {
			return nil, protocolError(err)
		}
		return res, nil
	}
}

func (a *agentState) getPrompt(r aggregate.Route) mcp.PromptHandler {
	return func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		var res *mcp.GetPromptResult
		err := a.relayOn(ctx, req.Session, r.Slug, req.Params.Meta, func(ctx context.Context, cs *mcp.ClientSession, meta mcp.Meta) error {
			var err error
			res, err = cs.GetPrompt(ctx, &mcp.GetPromptParams{Meta: meta, Name: r.Name, Arguments: req.Params.Arguments})
			return err
		})
		if err != nil {
			return nil, protocolError(err)
		}
		return res, nil
	}
}

// readResource reads resource uri of slug, served at served.
func (a *agentState) readResource(slug, served, uri string) mcp.ResourceHandler {
	return func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return a.read(ctx, req, slug, served, uri)
	}
}

// readTemplated reads a resource of slug's template; rewritten: the template is served as
// a ServerURI, whose form the requested URI has too.
func (a *agentState) readTemplated(slug string, rewritten bool) mcp.ResourceHandler {
	return func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		uri := req.Params.URI
		if rewritten {
			_, own, ok := aggregate.SplitServerURI(uri)
			if !ok {
				return nil, mcp.ResourceNotFoundError(uri)
			}
			uri = own
		}
		return a.read(ctx, req, slug, req.Params.URI, uri)
	}
}

func (a *agentState) read(ctx context.Context, req *mcp.ReadResourceRequest, slug, served, uri string) (*mcp.ReadResourceResult, error) {
	var res *mcp.ReadResourceResult
	err := a.relayOn(ctx, req.Session, slug, req.Params.Meta, func(ctx context.Context, cs *mcp.ClientSession, meta mcp.Meta) error {
		var err error
		res, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{Meta: meta, URI: uri})
		return err
	})
	if err != nil {
		return nil, protocolError(err)
	}
	if served != uri {
		for _, c := range res.Contents {
			if c != nil && c.URI == uri {
				c.URI = served
			}
		}
	}
	return res, nil
}

// resolve finds the server and own URI of a URI the agent serves: a listed resource, a
// ServerURI, or the first of its templates (in the catalogue's order) that matches it.
func (a *agentState) resolve(uri string) (slug, own string, ok bool) {
	a.mu.Lock()
	cat := a.cat
	a.mu.Unlock()
	if it, ok := cat.Resources[uri]; ok {
		return it.Route.Slug, it.Route.Name, true
	}
	if slug, own, ok := aggregate.SplitServerURI(uri); ok {
		return slug, own, true
	}
	keys := make([]string, 0, len(cat.Templates))
	for k := range cat.Templates {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t, err := uritemplate.New(k)
		if err == nil && t.Match(uri) != nil {
			return cat.Templates[k].Route.Slug, uri, true
		}
	}
	return "", "", false
}

// complete routes completion/complete to the server of the prompt or resource template.
func (a *agentState) complete(ctx context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	if req.Params == nil || req.Params.Ref == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "completion/complete needs a ref"}
	}
	ref := *req.Params.Ref
	a.mu.Lock()
	cat := a.cat
	a.mu.Unlock()
	var slug string
	switch ref.Type {
	case "ref/prompt":
		it, ok := cat.Prompts[ref.Name]
		if !ok {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown prompt %q", ref.Name)}
		}
		slug, ref.Name = it.Route.Slug, it.Route.Name
	case "ref/resource":
		if it, ok := cat.Templates[ref.URI]; ok {
			slug, ref.URI = it.Route.Slug, it.Route.Name
		} else if s, own, ok := a.resolve(ref.URI); ok {
			slug, ref.URI = s, own
		} else {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown resource %q", ref.URI)}
		}
	default:
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown ref type %q", ref.Type)}
	}
	var res *mcp.CompleteResult
	err := a.relayOn(ctx, req.Session, slug, req.Params.Meta, func(ctx context.Context, cs *mcp.ClientSession, meta mcp.Meta) error {
		p := *req.Params
		p.Meta, p.Ref = meta, &ref
		var err error
		res, err = cs.Complete(ctx, &p)
		return err
	})
	if err != nil {
		return nil, protocolError(err)
	}
	return res, nil
}
