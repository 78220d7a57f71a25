// Package toolnames is the rule that decides, for an agent whose gateway serves its servers'
// tools (or prompts) under their original names, which server keeps a name two of them
// offer: the one attached first. The REST API refuses an attach that would make such a
// clash; the gateway withholds the later server's tool when a clash appears afterwards (a
// server starts offering the name); both call Conflicts, so they agree.
package toolnames

import "encoding/json"

// The agent's gateway setting toolNames.
const (
	// Prefixed serves each tool as {slug}__{tool}: names never clash across servers.
	Prefixed = "prefixed"
	// Original serves each tool under the name its server gives it.
	Original = "original"
)

// Server is one of an agent's servers and the names it offers, in the order they were attached.
type Server struct {
	Slug  string
	Names []string
}

// Conflict says that Server's Name is withheld: ConflictsWith, attached before it, offers
// the same name and keeps it.
type Conflict struct {
	Name, Server, ConflictsWith string
}

// Conflicts returns every name a server offers that a server attached before it offers too,
// in attachment order, then in the server's own order. A name a server offers twice is not a
// conflict (it is one server's name); a server listed twice counts once.
func Conflicts(servers []Server) []Conflict {
	owner := make(map[string]string)
	var out []Conflict
	for _, s := range servers {
		for _, n := range s.Names {
			o, taken := owner[n]
			switch {
			case !taken:
				owner[n] = s.Slug
			case o != s.Slug:
				out = append(out, Conflict{Name: n, Server: s.Slug, ConflictsWith: o})
			}
		}
	}
	return dedup(out)
}

// dedup drops repeats of a conflict (a server offering a clashing name twice).
func dedup(cs []Conflict) []Conflict {
	if len(cs) < 2 {
		return cs
	}
	seen := make(map[Conflict]bool, len(cs))
	out := cs[:0]
	for _, c := range cs {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// ToolNames returns the names of the tools of a stored tool list (a JSON array of MCP tool
// objects, as a probe keeps them); an entry without a string name has none.
func ToolNames(tools []byte) ([]string, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(tools, &list); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(list))
	for _, raw := range list {
		var t struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(raw, &t) == nil && t.Name != "" {
			names = append(names, t.Name)
		}
	}
	return names, nil
}
