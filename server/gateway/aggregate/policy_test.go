package aggregate_test

import (
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/server/gateway/aggregate"
	"github.com/agentmcp/agentmcp/store"
)

// TestAllowAndRename: an allow-list serves only the tools it names (the others held as
// not allowed); a renamed tool is served under its new name, which it keeps against a
// tool of another server that would be served under it.
func TestAllowAndRename(t *testing.T) {
	a := aggregate.Listing{Slug: "a", Caps: caps(), Tools: []*mcp.Tool{tool("x"), tool("y"), tool("z")}}
	b := aggregate.Listing{Slug: "b", Caps: caps(), Tools: []*mcp.Tool{tool("w")}}
	p := aggregate.Policy{Mode: aggregate.Original, Servers: map[string]store.ServerPolicy{
		"a": {Allow: []string{"x", "y"}, Rename: map[string]string{"y": "w"}},
	}}
	cat := aggregate.Build(p, []aggregate.Listing{a, b})
	if len(cat.Tools) != 2 || cat.Tools["x"].Route != (aggregate.Route{Slug: "a", Name: "x"}) || cat.Tools["w"].Route != (aggregate.Route{Slug: "a", Name: "y"}) {
		t.Fatalf("tools %v", cat.Tools)
	}
	if cat.Tools["w"].Served.Name != "w" || cat.Tools["w"].Served.Meta["agentmcp/tool"] != "y" {
		t.Fatalf("renamed tool served as %+v", cat.Tools["w"].Served)
	}
	if len(cat.Held) != 1 || cat.Held[0].Route.Name != "z" || cat.Held[0].Reason != aggregate.ReasonNotAllowed {
		t.Fatalf("held %+v", cat.Held)
	}
	if len(cat.Conflicts) != 1 || cat.Conflicts[0] != (aggregate.Conflict{Kind: "tool", Name: "w", Kept: "a", Held: "b"}) {
		t.Fatalf("conflicts %+v", cat.Conflicts)
	}
	none := aggregate.Build(aggregate.Policy{Mode: aggregate.Prefixed, Servers: map[string]store.ServerPolicy{"a": {Allow: []string{}}}}, []aggregate.Listing{a})
	if len(none.Tools) != 0 || len(none.Held) != 3 {
		t.Fatalf("an empty allow-list serves %v", none.Tools)
	}
}

// TestPins: a server seen first is served and observed as it is; later, a definition that
// is not the approved one is withheld under enforce, served under warn and off, and
// observed unless it is already the pending one; a rejected one stays withheld.
func TestPins(t *testing.T) {
	l := aggregate.Listing{Slug: "a", Caps: caps(), Tools: []*mcp.Tool{tool("x"), {Name: "y", Description: "new", InputSchema: map[string]any{"type": "object"}}}}
	first := aggregate.Build(aggregate.Policy{Mode: aggregate.Prefixed, Pinning: store.PinningEnforce}, []aggregate.Listing{l})
	if len(first.Tools) != 2 || len(first.Observed) != 3 || first.Observed[0].Kind != store.PinServer {
		t.Fatalf("first sight: tools %v, observed %+v", first.Tools, first.Observed)
	}
	hashOf := func(name string) string { return first.Tools["a__"+name].Pin }
	// x is approved as it is; y was approved with another description.
	pins := []store.ToolPin{{Server: "a", Kind: store.PinServer}, {Server: "a", Kind: store.PinTool, Name: "x", Approved: hashOf("x")},
		{Server: "a", Kind: store.PinTool, Name: "y", Approved: "old"}}
	for _, tc := range []struct {
		pinning  string
		served   int
		observed int
	}{{store.PinningEnforce, 1, 1}, {store.PinningWarn, 2, 1}, {store.PinningOff, 2, 0}} {
		cat := aggregate.Build(aggregate.Policy{Mode: aggregate.Prefixed, Pinning: tc.pinning, Pins: pins}, []aggregate.Listing{l})
		if len(cat.Tools) != tc.served || len(cat.Observed) != tc.observed {
			t.Fatalf("%s: served %v, observed %+v", tc.pinning, cat.Tools, cat.Observed)
		}
		if tc.pinning == store.PinningEnforce && (len(cat.Held) != 1 || cat.Held[0].Reason != aggregate.ReasonPending || cat.Held[0].Pin != hashOf("y") ||
			cat.Pinned[aggregate.PinnedKey{Kind: store.PinTool, Name: "a__y"}].Pin != hashOf("y")) {
			t.Fatalf("enforce holds %+v", cat.Held)
		}
	}
	pins[2].Pending = hashOf("y")
	if cat := aggregate.Build(aggregate.Policy{Mode: aggregate.Prefixed, Pinning: store.PinningEnforce, Pins: pins}, []aggregate.Listing{l}); len(cat.Observed) != 0 || len(cat.Held) != 1 {
		t.Fatalf("an already pending change: observed %+v, held %+v", cat.Observed, cat.Held)
	}
	pins[2].Rejected = true
	if cat := aggregate.Build(aggregate.Policy{Mode: aggregate.Prefixed, Pinning: store.PinningEnforce, Pins: pins}, []aggregate.Listing{l}); len(cat.Held) != 1 || cat.Held[0].Reason != aggregate.ReasonRejected {
		t.Fatalf("a rejected change: held %+v", cat.Held)
	}
	// The definition hashed is the server's, without _meta: the same under a rename.
	renamed := aggregate.Build(aggregate.Policy{Mode: aggregate.Prefixed, Servers: map[string]store.ServerPolicy{"a": {Rename: map[string]string{"x": "ex"}}}}, []aggregate.Listing{l})
	if renamed.Tools["ex"].Pin != hashOf("x") {
		t.Fatal("a rename changes the pinned hash")
	}
	var def map[string]any
	if json.Unmarshal(first.Observed[1].Def, &def) != nil || def["_meta"] != nil || def["name"] == nil {
		t.Fatalf("observed definition %s", first.Observed[1].Def)
	}
}
