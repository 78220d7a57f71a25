package aggregate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/internal/descscan"
	"github.com/agentmcp/agentmcp/internal/toolnames"
	"github.com/agentmcp/agentmcp/store"
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
// it goes, a hash of it to see changes, and the hash of its server's definition (what is
// pinned).
type Item[T any] struct {
	Served T
	Route  Route
	Hash   string
	Pin    string
}

// Conflict is an item withheld because another server's item already has its name
// (original mode, or a rename).
type Conflict struct {
	Kind, Name string
	Kept, Held string // the slug that serves the name, the slug whose item is withheld
}

// Reasons an item is withheld by the agent's policy.
const (
	ReasonNotAllowed = "not_allowed"      // the server's allow-list leaves it out
	ReasonPending    = "pending_approval" // its definition changed (or it is new) and awaits approval
	ReasonRejected   = "rejected"         // its current definition was rejected
)

// Held is an item the agent's policy withholds.
type Held struct {
	Kind   string // store.PinTool, PinPrompt, PinResource, PinTemplate
	Name   string // the name (or URI) it would be served under
	Route  Route
	Reason string
	Pin    string // the definition's hash
}

// Catalogue is an agent's items across its servers, by the name (or URI) it serves them
// under.
type Catalogue struct {
	Tools     map[string]Item[*mcp.Tool]
	Prompts   map[string]Item[*mcp.Prompt]
	Resources map[string]Item[*mcp.Resource]
	Templates map[string]Item[*mcp.ResourceTemplate]
	Conflicts []Conflict
	Held      []Held
	// Pinned is the items of Held the pins withhold (pending or rejected), by kind and the
	// name they would be served under: a call of one is refused saying why.
	Pinned map[PinnedKey]Held
	// Observed is what the store must record of this build's definitions (first sight of
	// a server, a definition not pinned); empty when there is nothing new.
	Observed []store.PinObservation
	Caps     *mcp.ServerCapabilities // the union of its servers'
}

// PinnedKey names an item withheld by the pins: its kind and served name (or URI).
type PinnedKey struct{ Kind, Name string }

// Policy is what an agent's gateway settings make of its servers' items.
type Policy struct {
	Mode    Mode
	Pinning string                        // store.PinningOff ("" too), PinningWarn or PinningEnforce
	Servers map[string]store.ServerPolicy // allow-lists and renames by slug
	Pins    []store.ToolPin               // the agent's pins (read when Pinning is not off)
}

// PolicyOf is an agent's policy under mode, with its pins.
func PolicyOf(a store.Agent, mode Mode, pins []store.ToolPin) Policy {
	return Policy{Mode: mode, Pinning: a.Gateway.Pinning, Servers: a.Gateway.Servers, Pins: pins}
}

type pinKey struct{ slug, kind, name string }

// builder carries a Build's policy decisions.
type builder struct {
	p    Policy
	c    *Catalogue
	pins map[pinKey]store.ToolPin
	seen map[string]bool // servers pinned before: their items are not first seen
}

// kind is one capability's item type T: how to read, serve and pin it.
type kind[T any] struct {
	name  string                              // store.PinTool, …
	own   func(T) string                      // its name (URI, template) at its server
	serve func(T, string, mcp.Meta) T         // a copy served under a name, with _meta
	def   func(T) any                         // the definition pinned (no _meta, icons)
	ok    func(T) bool                        // servable
	dst   func(*Catalogue) map[string]Item[T] // where it goes
}

var (
	tools = kind[*mcp.Tool]{name: store.PinTool, own: func(t *mcp.Tool) string { return t.Name },
		serve: func(t *mcp.Tool, n string, m mcp.Meta) *mcp.Tool { o := *t; o.Name, o.Meta = n, m; return &o },
		def:   func(t *mcp.Tool) any { o := *t; o.Meta, o.Icons = nil, nil; return &o },
		ok:    func(t *mcp.Tool) bool { return t != nil && objectSchema(t.InputSchema) }, // the SDK cannot serve others
		dst:   func(c *Catalogue) map[string]Item[*mcp.Tool] { return c.Tools }}
	prompts = kind[*mcp.Prompt]{name: store.PinPrompt, own: func(p *mcp.Prompt) string { return p.Name },
		serve: func(p *mcp.Prompt, n string, m mcp.Meta) *mcp.Prompt { o := *p; o.Name, o.Meta = n, m; return &o },
		def:   func(p *mcp.Prompt) any { o := *p; o.Meta, o.Icons = nil, nil; return &o },
		ok:    func(p *mcp.Prompt) bool { return p != nil },
		dst:   func(c *Catalogue) map[string]Item[*mcp.Prompt] { return c.Prompts }}
	resources = kind[*mcp.Resource]{name: store.PinResource, own: func(r *mcp.Resource) string { return r.URI },
		serve: func(r *mcp.Resource, u string, m mcp.Meta) *mcp.Resource { o := *r; o.URI, o.Meta = u, m; return &o },
		// Size and annotations (lastModified, priority) change without changing what it is.
		def: func(r *mcp.Resource) any {
			o := *r
			o.Meta, o.Icons, o.Size, o.Annotations = nil, nil, 0, nil
			return &o
		},
		ok:  func(r *mcp.Resource) bool { return r != nil },
		dst: func(c *Catalogue) map[string]Item[*mcp.Resource] { return c.Resources }}
	templates = kind[*mcp.ResourceTemplate]{name: store.PinTemplate, own: func(t *mcp.ResourceTemplate) string { return t.URITemplate },
		serve: func(t *mcp.ResourceTemplate, u string, m mcp.Meta) *mcp.ResourceTemplate {
			o := *t
			o.URITemplate, o.Meta = u, m
			return &o
		},
		def: func(t *mcp.ResourceTemplate) any { o := *t; o.Meta, o.Icons, o.Annotations = nil, nil, nil; return &o },
		ok:  func(t *mcp.ResourceTemplate) bool { return t != nil },
		dst: func(c *Catalogue) map[string]Item[*mcp.ResourceTemplate] { return c.Templates }}
)

// Build makes the catalogue of servers, given in the order they were attached, under the
// agent's policy p. In original mode a name two servers offer is served by the one
// attached first, and the other's item is withheld (a Conflict): the rule the REST API
// applies to refuse an attach that would clash, so a clash appears only when a server
// starts offering a new name. A renamed tool takes its new name before any other tool.
func Build(p Policy, servers []Listing) *Catalogue {
	c := &Catalogue{Tools: map[string]Item[*mcp.Tool]{}, Prompts: map[string]Item[*mcp.Prompt]{},
		Resources: map[string]Item[*mcp.Resource]{}, Templates: map[string]Item[*mcp.ResourceTemplate]{},
		Caps: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}}}
	b := &builder{p: p, c: c, pins: map[pinKey]store.ToolPin{}, seen: map[string]bool{}}
	for _, pin := range p.Pins {
		if pin.Kind == store.PinServer {
			b.seen[pin.Server] = true
		} else {
			b.pins[pinKey{pin.Server, pin.Kind, pin.Name}] = pin
		}
	}
	servers = b.allowed(servers)
	withheldTools, withheldPrompts := withheld(p.Mode, b.unrenamed(servers))
	for _, s := range servers {
		unionCaps(c.Caps, s.Caps)
		if p.Pinning != "" && p.Pinning != store.PinningOff && s.Caps != nil && !b.seen[s.Slug] {
			c.Observed = append(c.Observed, store.PinObservation{Server: s.Slug, Kind: store.PinServer})
		}
	}
	for _, s := range servers { // renamed tools first: their names are the agent's own choice
		r := p.Servers[s.Slug].Rename
		addAll(b, tools, s, s.Tools, func(n string) (string, bool) { to, ok := r[n]; return to, ok }, nil)
	}
	for _, s := range servers {
		r := p.Servers[s.Slug].Rename
		addAll(b, tools, s, s.Tools, func(n string) (string, bool) {
			if _, renamed := r[n]; renamed {
				return "", false
			}
			return nameFor(p.Mode, s.Slug, n), true
		}, withheldTools)
		addAll(b, prompts, s, s.Prompts, func(n string) (string, bool) { return nameFor(p.Mode, s.Slug, n), true }, withheldPrompts)
	}
	// A URI two servers offer is served under ServerURI for both: a URI handed out never
	// points to another server than the one it did.
	owners, tOwners := owners(servers, resources, func(s Listing) []*mcp.Resource { return s.Resources }),
		owners(servers, templates, func(s Listing) []*mcp.ResourceTemplate { return s.Templates })
	for _, s := range servers {
		addAll(b, resources, s, s.Resources, uriFor(s.Slug, owners), nil)
		addAll(b, templates, s, s.Templates, uriFor(s.Slug, tOwners), nil)
	}
	return c
}

// addAll adds the items of server s of one kind that nameOf names (false: not this pass),
// unless withheld (by name conflict: the slug that keeps the name) or the pins say so.
func addAll[T any](b *builder, k kind[T], s Listing, items []T, nameOf func(string) (string, bool), withheld map[[2]string]string) {
	dst := k.dst(b.c)
	for _, it := range items {
		if isNil(it) {
			continue
		}
		own := k.own(it)
		name, ok := nameOf(own)
		if !ok || !k.ok(it) {
			continue
		}
		if kept, ok := withheld[[2]string{s.Slug, own}]; ok {
			b.c.Conflicts = append(b.c.Conflicts, Conflict{Kind: k.name, Name: name, Kept: kept, Held: s.Slug})
			continue
		}
		if kept, ok := dst[name]; ok {
			if kept.Route.Slug != s.Slug || kept.Route.Name != own { // not the same item listed twice
				b.c.Conflicts = append(b.c.Conflicts, Conflict{Kind: k.name, Name: name, Kept: kept.Route.Slug, Held: s.Slug})
			}
			continue
		}
		route := Route{s.Slug, own}
		def, _ := json.Marshal(k.def(it))
		pin := DefinitionHash(s.Slug, k.name, def)
		if reason := b.pinned(s.Slug, k.name, own, pin, def); reason != "" {
			h := Held{Kind: k.name, Name: name, Route: route, Reason: reason, Pin: pin}
			b.c.Held = append(b.c.Held, h)
			if b.c.Pinned == nil {
				b.c.Pinned = map[PinnedKey]Held{}
			}
			b.c.Pinned[PinnedKey{k.name, name}] = h
			continue
		}
		out := k.serve(it, name, withOrigin(metaOf(it), s.Slug, own))
		dst[name] = Item[T]{Served: out, Route: route, Hash: hash(out), Pin: pin}
	}
}

// pinned decides, under the pins, whether an item whose definition hashes to pin is
// served (""), or withheld and why; it notes what the store must record.
func (b *builder) pinned(slug, kind, name, pin string, def []byte) string {
	if b.p.Pinning == "" || b.p.Pinning == store.PinningOff {
		return ""
	}
	obs := store.PinObservation{Server: slug, Kind: kind, Name: name, Hash: pin, Def: def}
	if !b.seen[slug] { // first sight: pinned as it is
		b.c.Observed = append(b.c.Observed, obs)
		return ""
	}
	p, ok := b.pins[pinKey{slug, kind, name}]
	switch {
	case ok && p.Approved == pin:
		if p.Pending != "" { // back at its approved definition
			b.c.Observed = append(b.c.Observed, obs)
		}
		return ""
	case ok && p.Pending == pin && p.Rejected:
		if b.p.Pinning == store.PinningEnforce {
			return ReasonRejected
		}
		return ""
	case !ok || p.Pending != pin:
		obs.Flags = descscan.Definition(def) // for the audit event of the change
		b.c.Observed = append(b.c.Observed, obs)
	}
	if b.p.Pinning == store.PinningEnforce {
		return ReasonPending
	}
	return ""
}

// allowed drops the tools servers' allow-lists leave out (held as not allowed).
func (b *builder) allowed(servers []Listing) []Listing {
	out := make([]Listing, len(servers))
	for i, s := range servers {
		out[i] = s
		pol, ok := b.p.Servers[s.Slug]
		if !ok || pol.Allow == nil {
			continue
		}
		out[i].Tools = nil
		for _, t := range s.Tools {
			if t == nil {
				continue
			}
			if slices.Contains(pol.Allow, t.Name) {
				out[i].Tools = append(out[i].Tools, t)
			} else if tools.ok(t) {
				b.c.Held = append(b.c.Held, Held{Kind: store.PinTool, Name: t.Name, Route: Route{s.Slug, t.Name}, Reason: ReasonNotAllowed})
			}
		}
	}
	return out
}

// unrenamed is servers without their renamed tools: the names original mode checks.
func (b *builder) unrenamed(servers []Listing) []Listing {
	out := make([]Listing, len(servers))
	for i, s := range servers {
		out[i] = s
		r := b.p.Servers[s.Slug].Rename
		if len(r) == 0 {
			continue
		}
		out[i].Tools = slices.DeleteFunc(slices.Clone(s.Tools), func(t *mcp.Tool) bool {
			if t == nil {
				return false
			}
			_, ok := r[t.Name]
			return ok
		})
	}
	return out
}

// DefinitionHash is the hash an item's definition (JSON, without _meta) is pinned by: of
// its server, its kind and the definition, so one hash names one change of one agent.
func DefinitionHash(slug, kind string, def []byte) string {
	h := sha256.New()
	h.Write([]byte(slug + "\x00" + kind + "\x00"))
	h.Write(def)
	return hex.EncodeToString(h.Sum(nil))
}

// isNil: a nil item of a listing (a server may send null).
func isNil(v any) bool {
	switch x := v.(type) {
	case *mcp.Tool:
		return x == nil
	case *mcp.Prompt:
		return x == nil
	case *mcp.Resource:
		return x == nil
	case *mcp.ResourceTemplate:
		return x == nil
	}
	return v == nil
}

func metaOf(v any) mcp.Meta {
	switch x := v.(type) {
	case *mcp.Tool:
		return x.Meta
	case *mcp.Prompt:
		return x.Meta
	case *mcp.Resource:
		return x.Meta
	case *mcp.ResourceTemplate:
		return x.Meta
	}
	return nil
}

// owners counts, for each URI (or template) of kind k, how many servers offer it.
func owners[T any](servers []Listing, k kind[T], items func(Listing) []T) map[string]int {
	n := map[string]int{}
	for _, s := range servers {
		m := map[string]bool{}
		for _, it := range items(s) {
			if k.ok(it) {
				m[k.own(it)] = true
			}
		}
		for u := range m {
			n[u]++
		}
	}
	return n
}

// uriFor serves a URI as it is while one server offers it, else as ServerURI.
func uriFor(slug string, owners map[string]int) func(string) (string, bool) {
	return func(u string) (string, bool) {
		if owners[u] > 1 {
			return ServerURI(slug, u), true
		}
		return u, true
	}
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
	case json.RawMessage: // as the gateway's listings keep schemas
		var t struct {
			Type any `json:"type"`
		}
		return json.Unmarshal(v, &t) == nil && t.Type == "object"
	default:
		b, err := json.Marshal(s)
		if err != nil || json.Unmarshal(b, &m) != nil {
			return false
		}
	}
	return m["type"] == "object"
}
