package aggregate_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/server/gateway/aggregate"
	"github.com/agentmcp/agentmcp/store"
)

// BenchmarkBuild: an agent's catalogue of 1,000 tools without a policy, and with pinning
// (every definition approved: the steady state), which hashes every definition. Schemas
// are JSON bytes, as the gateway's listings keep them.
func BenchmarkBuild(b *testing.B) {
	l := aggregate.Listing{Slug: "s", Caps: caps()}
	for i := range 1000 {
		l.Tools = append(l.Tools, &mcp.Tool{Name: fmt.Sprintf("tool_%d", i), Description: "does thing number " + fmt.Sprint(i),
			InputSchema: json.RawMessage(`{"properties":{"q":{"type":"string"}},"type":"object"}`)}) // as the gateway lists them
	}
	first := aggregate.Build(aggregate.Policy{Mode: aggregate.Prefixed, Pinning: store.PinningEnforce}, []aggregate.Listing{l})
	pins := []store.ToolPin{{Server: "s", Kind: store.PinServer}}
	for _, it := range first.Tools {
		pins = append(pins, store.ToolPin{Server: "s", Kind: store.PinTool, Name: it.Route.Name, Approved: it.Pin})
	}
	for _, bc := range []struct {
		name string
		p    aggregate.Policy
	}{
		{"off", aggregate.Policy{Mode: aggregate.Prefixed}},
		{"enforce", aggregate.Policy{Mode: aggregate.Prefixed, Pinning: store.PinningEnforce, Pins: pins}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if cat := aggregate.Build(bc.p, []aggregate.Listing{l}); len(cat.Tools) != 1000 || len(cat.Observed) != 0 {
					b.Fatalf("%d tools, %d observed", len(cat.Tools), len(cat.Observed))
				}
			}
		})
	}
}
