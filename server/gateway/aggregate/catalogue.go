package aggregate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/internal/toolnames"
)

// Listing is what one server offers, as last listed.
type Listing struct {
	Slug      string
	Caps      *mcp.ServerCapabilities // nil: not known (its circuit is open, or it never answered)
	Tools     []*mcp.Tool
	Prompts   []*mcp.Prompt
	Resources []*mcp.Resource
	Templates []*mcp.ResourceTemplate
}

// Route is where an item of the catalogue goes: its server and its own name (or URI,
// or URI template) there.
type Route struct{ Slug, Name string }

// Item is one entry of a capability's catalogue: what the gateway serves (renamed), where
// it goes, and a hash of it to see changes.
type Item[T any] struct {
	Served T
	Route  Route
	Hash   string
}

// Conflict is an item withheld because another server's item already has its name
// (original mode only).
type Conflict struct {
	Kind, Name string
	Kept, Held string // the slug that serves the name, the slug whose item is withheld
}

// Catalogue is an agent's items across its servers, by the name (or URI) it serves them
// under.
type Catalogue struct {
	Tools     map[string]Item[*mcp.Tool]
	Prompts   map[string]Item[*mcp.Prompt]
	Resources map[string]Item[*mcp.Resource]
	Templates map[string]Item[*mcp.ResourceTemplate]
	Conflicts []Conflict
	Caps      *mcp.ServerCapabilities // the union of its servers'
}

// Build makes the catalogue of servers, given in the order they were attached, under mode.
// In original mode a name two servers offer is served by the one attached first, and the
// other's item is withheld (a Conflict): the rule the REST API applies to refuse an attach
// that would clash, so a clash appears only when a server starts offering a new name.
func Build(mode Mode, servers []Listing) *Catalogue {
	c := &Catalogue{Tools: map[string]Item[*mcp.Tool]{}, Prompts: map[string]Item[*mcp.Prompt]{},
		Resources: map[string]Item[*mcp.Resource]{}, Templates: map[string]Item[*mcp.ResourceTemplate]{},
		Caps: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}}}
	withheldTools, withheldPrompts := withheld(mode, servers)
	for _, s := range servers {
		unionCaps(c.Caps, s.Caps)
		for _, t := range s.Tools {
			if t == nil || !objectSchema(t.InputSchema) {
				continue // the SDK cannot serve it; the probe shows what the server sent
			}
			name := nameFor(mode, s.Slug, t.Name)
			if kept, ok := withheldTools[[2]string{s.Slug, t.Name}]; ok {
				c.Conflicts = append(c.Conflicts, Conflict{Kind: "tool", Name: name, Kept: kept, Held: s.Slug})
				continue
			}
			if kept, ok := c.Tools[name]; ok {
				c.Conflicts = append(c.Conflicts, Conflict{Kind: "tool", Name: name, Kept: kept.Route.Slug, Held: s.Slug})
				continue
			}
			out := *t
			out.Name = name
			out.Meta = withOrigin(t.Meta, s.Slug, t.Name)
			c.Tools[name] = Item[*mcp.Tool]{Served: &out, Route: Route{s.Slug, t.Name}, Hash: hash(&out)}
		}
		for _, p := range s.Prompts {
			if p == nil {
				continue
			}
			name := nameFor(mode, s.Slug, p.Name)
			if kept, ok := withheldPrompts[[2]string{s.Slug, p.Name}]; ok {
				c.Conflicts = append(c.Conflicts, Conflict{Kind: "prompt", Name: name, Kept: kept, Held: s.Slug})
				continue
			}
			if kept, ok := c.Prompts[name]; ok {
				c.Conflicts = append(c.Conflicts, Conflict{Kind: "prompt", Name: name, Kept: kept.Route.Slug, Held: s.Slug})
				continue
			}
			out := *p
			out.Name = name
			out.Meta = withOrigin(p.Meta, s.Slug, p.Name)
			c.Prompts[name] = Item[*mcp.Prompt]{Served: &out, Route: Route{s.Slug, p.Name}, Hash: hash(&out)}
		}
	}
	// A URI two servers offer is served under ServerURI for both: a URI handed out never
	// points to another server than the one it did.
	owners := map[string]int{}
	tOwners := map[string]int{}
	for _, s := range servers {
		for _, u := range uniqueURIs(s.Resources) {
			owners[u]++
		}
		for _, u := range uniqueTemplates(s.Templates) {
			tOwners[u]++
		}
	}
	for _, s := range servers {
		for _, r := range s.Resources {
			if r == nil {
				continue
			}
			uri := r.URI
			if owners[r.URI] > 1 {
				uri = ServerURI(s.Slug, r.URI)
			}
			if _, ok := c.Resources[uri]; ok {
				continue // listed twice by one server
			}
			out := *r
			out.URI = uri
			out.Meta = withOrigin(r.Meta, s.Slug, r.URI)
			c.Resources[uri] = Item[*mcp.Resource]{Served: &out, Route: Route{s.Slug, r.URI}, Hash: hash(&out)}
		}
		for _, t := range s.Templates {
			if t == nil {
				continue
			}
			uri := t.URITemplate
			if tOwners[t.URITemplate] > 1 {
				uri = ServerURI(s.Slug, t.URITemplate)
			}
			if _, ok := c.Templates[uri]; ok {
				continue
			}
			out := *t
			out.URITemplate = uri
			out.Meta = withOrigin(t.Meta, s.Slug, t.URITemplate)
			c.Templates[uri] = Item[*mcp.ResourceTemplate]{Served: &out, Route: Route{s.Slug, t.URITemplate}, Hash: hash(&out)}
		}
	}
	return c
}

// withheld returns, in original mode, the (slug, name) pairs of tools and prompts that
// toolnames.Conflicts withholds (the rule REST applies too), each with the slug that keeps
// the name.
func withheld(mode Mode, servers []Listing) (tools, prompts map[[2]string]string) {
	tools, prompts = map[[2]string]string{}, map[[2]string]string{}
	if mode != Original {
		return tools, prompts
	}
	var ts, ps []toolnames.Server
	for _, s := range servers {
		t := toolnames.Server{Slug: s.Slug}
		for _, x := range s.Tools {
			if x != nil && objectSchema(x.InputSchema) {
				t.Names = append(t.Names, x.Name)
			}
		}
		p := toolnames.Server{Slug: s.Slug}
		for _, x := range s.Prompts {
			if x != nil {
				p.Names = append(p.Names, x.Name)
			}
		}
		ts, ps = append(ts, t), append(ps, p)
	}
	for _, c := range toolnames.Conflicts(ts) {
		tools[[2]string{c.Server, c.Name}] = c.ConflictsWith
	}
	for _, c := range toolnames.Conflicts(ps) {
		prompts[[2]string{c.Server, c.Name}] = c.ConflictsWith
	}
	return tools, prompts
}

func nameFor(mode Mode, slug, name string) string {
	if mode == Original {
		return name
	}
	return PrefixedName(slug, name)
}

func uniqueURIs(rs []*mcp.Resource) []string {
	m := map[string]bool{}
	for _, r := range rs {
		if r != nil {
			m[r.URI] = true
		}
	}
	return slices.Collect(maps.Keys(m))
}

func uniqueTemplates(ts []*mcp.ResourceTemplate) []string {
	m := map[string]bool{}
	for _, t := range ts {
		if t != nil {
			m[t.URITemplate] = true
		}
	}
	return slices.Collect(maps.Keys(m))
}

// withOrigin adds agentmcp/server and agentmcp/name to an item's _meta (a copy).
func withOrigin(m mcp.Meta, slug, name string) mcp.Meta {
	out := make(mcp.Meta, len(m)+2)
	maps.Copy(out, m)
	out["agentmcp/server"] = slug
	out["agentmcp/tool"] = name // kept under its first name: clients read it
	return out
}

func hash(v any) string {
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// unionCaps adds what s offers to c.
func unionCaps(c, s *mcp.ServerCapabilities) {
	if s == nil {
		return
	}
	if s.Prompts != nil {
		c.Prompts = &mcp.PromptCapabilities{ListChanged: true}
	}
	if s.Resources != nil {
		if c.Resources == nil {
			c.Resources = &mcp.ResourceCapabilities{ListChanged: true}
		}
		c.Resources.Subscribe = c.Resources.Subscribe || s.Resources.Subscribe
	}
	if s.Completions != nil {
		c.Completions = &mcp.CompletionCapabilities{}
	}
	if s.Logging != nil {
		c.Logging = &mcp.LoggingCapabilities{}
	}
}

// objectSchema: the SDK serves only tools whose input schema is a JSON object schema.
func objectSchema(s any) bool {
	var m map[string]any
	switch v := s.(type) {
	case map[string]any:
		m = v
	default:
		b, err := json.Marshal(s)
		if err != nil || json.Unmarshal(b, &m) != nil {
			return false
		}
	}
	return m["type"] == "object"
}
