package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/descscan"
	"github.com/agentmcp/agentmcp/internal/toolnames"
	"github.com/agentmcp/agentmcp/server/gateway/aggregate"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

// The agent's tool policy: allow-lists and renames per server (in its gateway settings),
// and the definitions its gateway pinned, with the changes awaiting a decision.

func wireGateway(g store.AgentGateway) gen.AgentGateway {
	out := gen.AgentGateway{ToolNames: gen.ToolNames(g.ToolNames), Pinning: gen.Pinning(g.Pinning)}
	if len(g.Servers) > 0 {
		servers := make(gen.GatewayServers, len(g.Servers))
		for slug, p := range g.Servers {
			var w gen.GatewayServerPolicy
			if p.Allow != nil {
				w.Allow = &p.Allow
			}
			if len(p.Rename) > 0 {
				w.Rename = p.Rename
			}
			servers[slug] = w
		}
		out.Servers = &servers
	}
	return out
}

// gatewayIn reads the gateway settings of a create or update.
func gatewayIn(in *gen.AgentGatewayInput) (toolNames, pinning *string, servers *map[string]store.ServerPolicy) {
	if in == nil {
		return nil, nil, nil
	}
	toolNames, pinning = (*string)(in.ToolNames), (*string)(in.Pinning)
	if in.Servers != nil {
		m := make(map[string]store.ServerPolicy, len(*in.Servers))
		for slug, p := range *in.Servers {
			var sp store.ServerPolicy
			if p.Allow != nil {
				sp.Allow = append([]string{}, *p.Allow...)
			}
			if len(p.Rename) > 0 {
				sp.Rename = p.Rename
			}
			m[slug] = sp
		}
		servers = &m
	}
	return toolNames, pinning, servers
}

// gatewayPolicyError is the 400 or 409 of a refused gateway policy, naming its field.
func gatewayPolicyError(e *store.GatewayPolicyError) error {
	status, code := http.StatusBadRequest, httpx.CodeValidation
	if e.Conflict {
		status, code = http.StatusConflict, httpx.CodeToolNameConflict
	}
	return &httpx.Error{Status: status, Code: code, Message: e.Field + ": " + e.Message,
		Details: []httpx.Detail{{Field: e.Field, Message: e.Message}}}
}

func wireChange(p store.ToolPin) gen.ToolChange {
	c := gen.ToolChange{Server: p.Server, Kind: gen.ToolChangeKind(p.Kind), Name: p.Name, Hash: p.Pending,
		Status: gen.ToolChangeStatusPending, After: map[string]any{}, Flags: []gen.DescriptionFlag{}, UpdatedAt: p.UpdatedAt}
	def := p.PendingDef
	switch {
	case p.Pending == "": // just approved
		c.Status, c.Hash, def = gen.ToolChangeStatusApproved, p.Approved, p.ApprovedDef
	case p.Rejected:
		c.Status = gen.ToolChangeStatusRejected
	}
	json.Unmarshal(def, &c.After)
	if p.ApprovedDef != nil && p.Pending != "" {
		json.Unmarshal(p.ApprovedDef, &c.Before)
	}
	for _, f := range descscan.Definition(def) {
		c.Flags = append(c.Flags, gen.DescriptionFlag(f))
	}
	return c
}

func (h *Handler) AgentToolPolicyListChanges(ctx context.Context, req gen.AgentToolPolicyListChangesRequestObject) (gen.AgentToolPolicyListChangesResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	pins, err := h.st.ListToolPins(ctx, app, req.Uid)
	if err != nil {
		return nil, agentError(err, req.Uid, "")
	}
	out := gen.AgentToolPolicyListChanges200JSONResponse{Data: []gen.ToolChange{}}
	for _, p := range pins {
		if p.Pending != "" {
			out.Data = append(out.Data, wireChange(p))
		}
	}
	return out, nil
}

func (h *Handler) AgentToolPolicyDecide(ctx context.Context, req gen.AgentToolPolicyDecideRequestObject) (gen.AgentToolPolicyDecideResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	p, err := h.svc.DecideToolChange(ctx, app, req.Uid, req.Hash, req.Decision == "approve")
	if errors.Is(err, store.ErrStaleChange) {
		return nil, &httpx.Error{Status: http.StatusConflict, Code: httpx.CodeToolChangeStale,
			Message: fmt.Sprintf("No change of agent %q awaits a decision under hash %s: the server may have changed the definition again, or it was decided. Nothing changed.", req.Uid, req.Hash),
			Details: []httpx.Detail{{Field: "hash", Message: "no change awaits under this hash"}}}
	}
	if err != nil {
		return nil, agentError(err, req.Uid, "")
	}
	c := wireChange(p)
	if req.Decision == "approve" {
		c.Before = nil
	}
	return gen.AgentToolPolicyDecide200JSONResponse(c), nil
}

// enabledTools is, by server, the tools agent gets and the ones it does not (with why),
// as its gateway decides over the tools of the servers' last successful probes: the same
// aggregate.Build under the agent's policy and pins.
func (h *Handler) enabledTools(ctx context.Context, agent store.Agent, servers []store.MCPServer) (map[string][]gen.EnabledTool, map[string][]gen.WithheldTool, error) {
	listings := make([]aggregate.Listing, 0, len(servers))
	for _, m := range servers {
		r, err := h.st.GetProbe(ctx, agent.AppID, m.Slug)
		if errors.Is(err, store.ErrNotFound) || (err == nil && r.Tools == nil) {
			listings = append(listings, aggregate.Listing{Slug: m.Slug}) // never probed: it offers nothing yet
			continue
		}
		if err != nil {
			return nil, nil, StoreError(err, httpx.CodeInternal, "")
		}
		var tools []*mcp.Tool
		if err := json.Unmarshal(r.Tools, &tools); err != nil {
			return nil, nil, fmt.Errorf("tools of %q: %w", m.Slug, err)
		}
		listings = append(listings, aggregate.Listing{Slug: m.Slug, Caps: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}}, Tools: tools})
	}
	var pins []store.ToolPin
	if agent.Gateway.Pinning != store.PinningOff {
		var err error
		if pins, err = h.st.ListToolPins(ctx, agent.AppID, agent.UID); err != nil {
			return nil, nil, agentError(err, agent.UID, "")
		}
	}
	mode := aggregate.Prefixed
	if agent.Gateway.ToolNames == toolnames.Original {
		mode = aggregate.Original
	}
	cat := aggregate.Build(aggregate.PolicyOf(agent, mode, pins), listings)
	served := map[string][]gen.EnabledTool{}
	for _, name := range slices.Sorted(maps.Keys(cat.Tools)) {
		it := cat.Tools[name]
		def, _ := json.Marshal(it.Served)
		flags := []gen.DescriptionFlag{}
		for _, f := range descscan.Definition(def) {
			flags = append(flags, gen.DescriptionFlag(f))
		}
		served[it.Route.Slug] = append(served[it.Route.Slug], gen.EnabledTool{Name: name, Tool: it.Route.Name,
			Description: it.Served.Description, Hash: it.Pin, Flags: flags})
	}
	held := map[string][]gen.WithheldTool{}
	for _, c := range cat.Conflicts {
		if c.Kind == store.PinTool {
			held[c.Held] = append(held[c.Held], gen.WithheldTool{Name: ownName(listings, c), Reason: gen.WithheldToolReasonNameConflict, ConflictsWith: &c.Kept})
		}
	}
	for _, x := range cat.Held {
		if x.Kind != store.PinTool {
			continue
		}
		w := gen.WithheldTool{Name: x.Route.Name, Reason: gen.WithheldToolReason(x.Reason)}
		if x.Reason != aggregate.ReasonNotAllowed {
			w.Hash = &x.Pin
		}
		held[x.Route.Slug] = append(held[x.Route.Slug], w)
	}
	return served, held, nil
}

// ownName is the server's own name of a conflicting tool (a conflict names what it would be served as).
func ownName(listings []aggregate.Listing, c aggregate.Conflict) string {
	for _, l := range listings {
		if l.Slug != c.Held {
			continue
		}
		for _, t := range l.Tools {
			if t != nil && (t.Name == c.Name || aggregate.PrefixedName(l.Slug, t.Name) == c.Name) {
				return t.Name
			}
		}
	}
	return c.Name
}
