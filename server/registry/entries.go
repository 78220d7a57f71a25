package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	v0 "github.com/modelcontextprotocol/registry/pkg/api/v0"
	"github.com/modelcontextprotocol/registry/pkg/model"

	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/store"
)

// Limits of server.json (schema 2025-12-11).
const (
	maxName        = 200
	maxDescription = 100
	maxTitle       = 100
	maxIconSrc     = 255
	// maxNamespace leaves room for the longest name part, "agent." and a 100-character uid.
	maxNamespace = maxName - 1 - len(agentPrefix) - 100
)

// agentPrefix starts the name part of an agent's entry; slugs never hold a '.', so an agent
// and a server never share a name.
const agentPrefix = "agent."

// Meta is agentmcp's part of an entry's _meta, beside the official registry's.
type Meta struct {
	Kind       string      `json:"kind"` // "mcpServer" or "agent"
	Slug       string      `json:"slug,omitempty"`
	Health     *metaHealth `json:"health,omitempty"` // an MCP server's last probe; absent until probed
	UID        string      `json:"uid,omitempty"`
	IsActive   *bool       `json:"isActive,omitempty"`
	MCPServers []string    `json:"mcpServers,omitempty"` // the slugs an agent's gateway serves
}

// metaHealth has the shape of the REST API's McpServerHealth.
type metaHealth struct {
	Status    string `json:"status"`
	CheckedAt int64  `json:"checkedAt"`
	ToolCount int    `json:"toolCount"`
}

type responseMeta struct {
	Official *v0.RegistryExtensions `json:"io.modelcontextprotocol.registry/official,omitempty"`
	AgentMCP *Meta                  `json:"agentmcp,omitempty"`
}

// serverResponse is v0.ServerResponse with agentmcp's key in _meta.
type serverResponse struct {
	Server v0.ServerJSON `json:"server"`
	Meta   responseMeta  `json:"_meta"`
}

// listResponse is v0.ServerListResponse of serverResponse.
type listResponse struct {
	Servers  []serverResponse `json:"servers"`
	Metadata v0.Metadata      `json:"metadata"`
}

// entry is one record of the view, with the name part it is ordered by.
type entry struct {
	part      string
	updatedAt int64
	resp      serverResponse
}

// version changes with every change of the record: updatedAt only grows.
func version(updatedAt int64) string { return "1.0." + strconv.FormatInt(updatedAt, 10) }

func official(createdAt, updatedAt int64) *v0.RegistryExtensions {
	c, u := time.UnixMilli(createdAt).UTC(), time.UnixMilli(updatedAt).UTC()
	return &v0.RegistryExtensions{Status: model.StatusActive, StatusChangedAt: c, PublishedAt: c, UpdatedAt: u, IsLatest: true}
}

func serverEntry(ns string, m store.MCPServer) entry {
	remote := publishedRemote(m.URL)
	for _, h := range secretHeaders(m) {
		remote.Headers = append(remote.Headers, model.KeyValueInput{Name: h, InputWithVariables: model.InputWithVariables{Input: model.Input{
			IsRequired: true, IsSecret: true, Description: "Credential of " + cut(m.Name, 60) + " (sent as the " + h + " header)"}}})
	}
	meta := &Meta{Kind: "mcpServer", Slug: m.Slug}
	if m.Health != nil {
		meta.Health = &metaHealth{Status: m.Health.Status, CheckedAt: m.Health.CheckedAt, ToolCount: m.Health.ToolCount}
	}
	return entry{part: m.Slug, updatedAt: m.UpdatedAt, resp: serverResponse{
		Server: v0.ServerJSON{
			Schema:      model.CurrentSchemaURL,
			Name:        ns + "/" + m.Slug,
			Title:       cut(m.Name, maxTitle),
			Description: cut(orElse(m.Description, "MCP server "+m.Name), maxDescription),
			Version:     version(m.UpdatedAt),
			Icons:       icons(m.Icon),
			Remotes:     []model.Transport{remote},
		},
		Meta: responseMeta{Official: official(m.CreatedAt, m.UpdatedAt), AgentMCP: meta},
	}}
}

func agentEntry(ns, base string, a store.Agent) entry {
	active := a.IsActive
	return entry{part: agentPrefix + a.UID, updatedAt: a.UpdatedAt, resp: serverResponse{
		Server: v0.ServerJSON{
			Schema:      model.CurrentSchemaURL,
			Name:        ns + "/" + agentPrefix + a.UID,
			Title:       cut(a.Name, maxTitle),
			Description: cut(orElse(a.Description, "The MCP servers of agent "+a.Name+" behind one gateway"), maxDescription),
			Version:     version(a.UpdatedAt),
			Icons:       icons(a.Icon),
			Remotes: []model.Transport{{Type: model.TransportTypeStreamableHTTP, URL: base + "/v3/ai-agents/agent-builder/agents/" + a.UID + "/mcp",
				Headers: []model.KeyValueInput{{Name: "Authorization", InputWithVariables: model.InputWithVariables{Input: model.Input{
					IsRequired: true, IsSecret: true, Placeholder: "Bearer <API key>", Description: "An API key of the app, as \"Bearer <API key>\""}}}}}},
		},
		Meta: responseMeta{Official: official(a.CreatedAt, a.UpdatedAt), AgentMCP: &Meta{Kind: "agent", UID: a.UID, IsActive: &active, MCPServers: a.MCPServers}},
	}}
}

// secretHeaders names the headers that carry a server's stored credential, never their
// values.
func secretHeaders(m store.MCPServer) []string {
	if !m.Auth.Configured() {
		return nil
	}
	return m.Auth.Names()
}

// publishedRemote is the remote of a registered URL as a reader without a key may see it:
// no user info, no fragment, and no query value: any may be a credential (x, code, k…), so
// each becomes a secret variable the editor asks its user for.
func publishedRemote(raw string) model.Transport {
	t := model.Transport{Type: model.TransportTypeStreamableHTTP}
	u, err := url.Parse(raw)
	if err != nil {
		return t // never stored: the API accepts only URLs that parse
	}
	if probe.SSE(u) {
		t.Type = model.TransportTypeSSE
	}
	query := u.RawQuery
	u.User, u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = nil, "", "", "", false
	var b strings.Builder
	b.WriteString(u.String())
	sep := "?"
	for _, kv := range strings.Split(query, "&") {
		if kv == "" {
			continue
		}
		b.WriteString(sep)
		sep = "&"
		k, _, _ := strings.Cut(kv, "=")
		name, _ := url.QueryUnescape(k)
		v := variableName(name, t.Variables)
		if t.Variables == nil {
			t.Variables = map[string]model.Input{}
		}
		t.Variables[v] = model.Input{IsRequired: true, IsSecret: true, Description: "Value of the " + cut(name, 40) + " query parameter"}
		b.WriteString(k + "={" + v + "}")
	}
	t.URL = b.String()
	return t
}

// variableName is a URL template variable ([A-Za-z_][A-Za-z0-9_]*) for a parameter, unique
// among taken.
func variableName(param string, taken map[string]model.Input) string {
	b := []byte("param_")
	for _, r := range param {
		if r < utf8.RuneSelf && (r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') && len(b) < 40 {
			b = append(b, byte(r))
		}
	}
	v := string(b)
	for i := 2; ; i++ {
		if _, dup := taken[v]; !dup {
			return v
		}
		v = string(b) + "_" + strconv.Itoa(i)
	}
}

func icons(src string) []model.Icon {
	if !strings.HasPrefix(src, "https://") || len(src) > maxIconSrc {
		return nil // server.json icons must be https, and short
	}
	return []model.Icon{{Src: src}}
}

func orElse(s, fallback string) string {
	if strings.TrimSpace(s) == "" {
		return fallback
	}
	return s
}

// cut shortens s to at most n characters, ending with "…" when it cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return strings.TrimRightFunc(string(runes[:n-1]), func(r rune) bool { return r == ' ' }) + "…"
}

// Namespace is the namespace of an app's entries: the reverse-DNS form of the host editors
// reach agentmcp at, then the app id (mcp.example.com, app "acme": com.example.mcp.acme).
// An IP address keeps its order. Too long a namespace keeps its start and a hash of the rest.
func Namespace(host, appID string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	labels := strings.Split(host, ".")
	if ip, err := netip.ParseAddr(host); err != nil {
		for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
			labels[i], labels[j] = labels[j], labels[i]
		}
	} else if ip.Is6() {
		labels = []string{"ip6-" + strings.ReplaceAll(host, ":", "-")}
	}
	var parts []string
	for _, l := range append(labels, appID) {
		if l = strings.Trim(namespaceChars(l), ".-"); l != "" {
			parts = append(parts, l)
		}
	}
	ns := strings.Join(parts, ".")
	if len(ns) > maxNamespace {
		sum := sha256.Sum256([]byte(ns))
		ns = strings.TrimRight(ns[:maxNamespace-9], ".-") + "." + hex.EncodeToString(sum[:4])
	}
	return ns
}

func namespaceChars(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '-'
	}, s)
}
