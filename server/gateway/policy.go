package gateway

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentmcp/agentmcp/internal/redact"
	"github.com/agentmcp/agentmcp/server/gateway/aggregate"
	"github.com/agentmcp/agentmcp/store"
)

// The agent's tool policy as the gateway applies it: allow-lists, renames and pins
// (package aggregate decides; this records what the store must know and refuses calls
// to what it withholds).

// PinStore is what the gateway reads and records of pinned definitions.
type PinStore interface {
	ListToolPins(ctx context.Context, appID, uid string) ([]store.ToolPin, error)
	ObserveToolPins(ctx context.Context, appID, uid string, seen []store.PinObservation) ([]store.ToolPin, error)
}

func newChangesMetric(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentmcp_gateway_definition_changes_total",
		Help: "Definitions (tools, prompts, resources, templates) of an agent's servers found changed or new since pinned, by kind and the agent's pinning (warn: served, enforce: withheld until approved)."},
		[]string{"kind", "pinning"})
	reg.MustRegister(c)
	return c
}

// build makes agent ag's catalogue under its policy; with pinning on it reads the pins
// and records what is new (first sight of a server, a changed or new definition).
func (a *agentState) build(ctx context.Context, ag *store.Agent, mode aggregate.Mode, servers []aggregate.Listing) *aggregate.Catalogue {
	if ag == nil {
		return aggregate.Build(aggregate.Policy{Mode: mode}, servers)
	}
	var pins []store.ToolPin
	pinning := ag.Gateway.Pinning
	if pinning != store.PinningOff {
		var err error
		if pins, err = a.g.st.ListToolPins(ctx, a.app, a.uid); err != nil {
			// Unknown pins: every server looks new, and would be pinned as it is now.
			a.g.log.Warn("gateway: reading an agent's pins", slog.String("app_id", a.app), slog.String("agent", a.uid), slog.String("error", redact.Text(err.Error())))
			pinning = store.PinningOff
			if ag.Gateway.Pinning == store.PinningEnforce {
				return aggregate.Build(aggregate.Policy{Mode: mode, Servers: ag.Gateway.Servers}, nil) // nothing, rather than unchecked
			}
		}
	}
	p := aggregate.PolicyOf(*ag, mode, pins)
	p.Pinning = pinning
	cat := aggregate.Build(p, servers)
	if len(cat.Observed) == 0 {
		return cat
	}
	changed, err := a.g.st.ObserveToolPins(ctx, a.app, a.uid, cat.Observed)
	if err != nil {
		a.g.log.Warn("gateway: recording an agent's definitions", slog.String("app_id", a.app), slog.String("agent", a.uid), slog.String("error", redact.Text(err.Error())))
	}
	for _, c := range changed {
		a.g.changes.WithLabelValues(c.Kind, pinning).Inc()
		a.g.log.Warn("gateway: a definition changed since it was pinned", slog.String("app_id", a.app), slog.String("agent", a.uid),
			slog.String("server", c.Server), slog.String("kind", c.Kind), slog.String("name", c.Name), slog.String("hash", c.Pending), slog.String("pinning", pinning))
	}
	return cat
}

// refuseHeld refuses a tools/call, prompts/get or resources/read of an item the agent's pins withhold,
// saying why (an unknown name gets the SDK's own answer).
func (a *agentState) refuseHeld(req mcp.Request) error {
	var kind, name string
	switch r := req.(type) {
	case *mcp.CallToolRequest:
		if r.Params != nil {
			kind, name = store.PinTool, r.Params.Name
		}
	case *mcp.GetPromptRequest:
		if r.Params != nil {
			kind, name = store.PinPrompt, r.Params.Name
		}
	case *mcp.ReadResourceRequest:
		if r.Params != nil {
			kind, name = store.PinResource, r.Params.URI
		}
	}
	if name == "" {
		return nil
	}
	a.mu.Lock()
	h, held := a.cat.Pinned[aggregate.PinnedKey{Kind: kind, Name: name}]
	a.mu.Unlock()
	if held {
		why := "its definition changed since it was approved (or it is new) and awaits approval"
		if h.Reason == aggregate.ReasonRejected {
			why = "its current definition was rejected"
		}
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams,
			Message: fmt.Sprintf("%s %q is withheld by the agent's tool policy: %s (definition %s)", kind, name, why, h.Pin)}
	}
	return nil
}
