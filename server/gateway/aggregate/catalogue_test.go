package aggregate_test

import (
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/server/gateway/aggregate"
)

func tool(name string) *mcp.Tool {
	return &mcp.Tool{Name: name, InputSchema: map[string]any{"type": "object"}}
}

func caps() *mcp.ServerCapabilities {
	return &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}}
}

// TestNamesNeverChangeTarget: slug a with tool b__c and slug a__b with tool c both once
// wanted a__b__c, and after a detach and re-attach the name moved to the other server.
// Each pair now has its own name, whichever is attached, in any order.
func TestNamesNeverChangeTarget(t *testing.T) {
	one := aggregate.Listing{Slug: "a", Caps: caps(), Tools: []*mcp.Tool{tool("b__c")}}
	two := aggregate.Listing{Slug: "a__b", Caps: caps(), Tools: []*mcp.Tool{tool("c")}}
	want := map[string]aggregate.Route{}
	for _, servers := range [][]aggregate.Listing{{one, two}, {two}, {one}, {two, one}, {one}} {
		cat := aggregate.Build(aggregate.Policy{Mode: aggregate.Prefixed}, servers)
		if len(cat.Conflicts) != 0 {
			t.Fatalf("conflicts in prefixed mode: %v", cat.Conflicts)
		}
		for name, it := range cat.Tools {
			if r, ok := want[name]; ok && r != it.Route {
				t.Fatalf("name %s moved from %v to %v", name, r, it.Route)
			}
			want[name] = it.Route
		}
	}
	if len(want) != 2 {
		t.Fatalf("names: %v", want)
	}
	if want["a__b__c"] != (aggregate.Route{Slug: "a", Name: "b__c"}) {
		t.Fatalf("a__b__c goes to %v", want["a__b__c"])
	}
}

// TestPrefixedNameInjective: plain names read back as one (slug, name); hashed names start
// with '_', which no plain name does; both fit a tool name.
func TestPrefixedNameInjective(t *testing.T) {
	seen := map[string][2]string{}
	for _, p := range [][2]string{{"a", "b__c"}, {"a__b", "c"}, {"a_", "_b"}, {"a", "__b"}, {"_a", "b"}, {"a", "b"},
		{"odd", "get.weather forecast/ünï"}, {"odd", "get_weather forecast/ünï"}, {strings.Repeat("s", 70), "t"}, {strings.Repeat("s", 70), "u"}} {
		n := aggregate.PrefixedName(p[0], p[1])
		if o, ok := seen[n]; ok {
			t.Fatalf("%v and %v both named %s", o, p, n)
		}
		seen[n] = p
		if len(n) > 64 || strings.ContainsAny(n, " ./") {
			t.Fatalf("%v: invalid name %q", p, n)
		}
	}
	if aggregate.PrefixedName("a__b", "c")[0] != '_' || aggregate.PrefixedName("weather", "now") != "weather__now" {
		t.Fatal("the forms are not what the decision says")
	}
}

// TestOriginalNames: in original mode a name two servers offer is served by the one
// attached first; the other's item is withheld and reported.
func TestOriginalNames(t *testing.T) {
	first := aggregate.Listing{Slug: "first", Caps: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}, Prompts: &mcp.PromptCapabilities{}},
		Tools: []*mcp.Tool{tool("search"), tool("only_first")}, Prompts: []*mcp.Prompt{{Name: "greet"}}}
	second := aggregate.Listing{Slug: "second", Caps: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}, Prompts: &mcp.PromptCapabilities{}},
		Tools: []*mcp.Tool{tool("search")}, Prompts: []*mcp.Prompt{{Name: "greet"}, {Name: "bye"}}}
	cat := aggregate.Build(aggregate.Policy{Mode: aggregate.Original}, []aggregate.Listing{first, second})
	if cat.Tools["search"].Route.Slug != "first" || cat.Prompts["greet"].Route.Slug != "first" || cat.Prompts["bye"].Route.Slug != "second" {
		t.Fatalf("routes: %v %v %v", cat.Tools["search"].Route, cat.Prompts["greet"].Route, cat.Prompts["bye"].Route)
	}
	if len(cat.Conflicts) != 2 || cat.Conflicts[0] != (aggregate.Conflict{Kind: "tool", Name: "search", Kept: "first", Held: "second"}) {
		t.Fatalf("conflicts: %+v", cat.Conflicts)
	}
	if cat.Tools["only_first"].Served.Name != "only_first" {
		t.Fatal("original name changed")
	}
}

// TestResourceCollisions: a URI (or template) one server offers is served as it is; one
// that two servers offer is served, for both, as agentmcp://server/{slug}/{uri}, and the
// plain URI is served by neither.
func TestResourceCollisions(t *testing.T) {
	rc := &mcp.ServerCapabilities{Resources: &mcp.ResourceCapabilities{}}
	a := aggregate.Listing{Slug: "a", Caps: rc, Resources: []*mcp.Resource{{URI: "file:///shared"}, {URI: "file:///only-a"}},
		Templates: []*mcp.ResourceTemplate{{URITemplate: "db://{table}"}}}
	b := aggregate.Listing{Slug: "b/x", Caps: rc, Resources: []*mcp.Resource{{URI: "file:///shared"}},
		Templates: []*mcp.ResourceTemplate{{URITemplate: "db://{table}"}, {URITemplate: "logs://{day}"}}}
	cat := aggregate.Build(aggregate.Policy{Mode: aggregate.Prefixed}, []aggregate.Listing{a, b})
	if _, ok := cat.Resources["file:///shared"]; ok {
		t.Fatal("a clashing URI is served as it is")
	}
	if r := cat.Resources["agentmcp://server/b%2Fx/file:///shared"].Route; r != (aggregate.Route{Slug: "b/x", Name: "file:///shared"}) {
		t.Fatalf("rewritten URI routes to %v; resources %v", r, cat.Resources)
	}
	if cat.Resources["file:///only-a"].Route.Slug != "a" || cat.Templates["logs://{day}"].Route.Slug != "b/x" {
		t.Fatal("unique URIs are not kept")
	}
	if cat.Templates["agentmcp://server/a/db://{table}"].Route != (aggregate.Route{Slug: "a", Name: "db://{table}"}) {
		t.Fatalf("templates: %v", cat.Templates)
	}
	slug, uri, ok := aggregate.SplitServerURI("agentmcp://server/b%2Fx/file:///shared")
	if !ok || slug != "b/x" || uri != "file:///shared" {
		t.Fatalf("split: %q %q %v", slug, uri, ok)
	}
	if cat.Caps.Resources == nil || cat.Caps.Prompts != nil {
		t.Fatalf("capabilities are not the union: %+v", cat.Caps)
	}
}
