// Package aggregate builds an agent's catalogue: each capability's items (tools, prompts,
// resources, resource templates) across the servers attached to it, under the names the
// gateway hands out, with where each goes.
package aggregate

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
)

// Mode is how an agent names its servers' tools and prompts.
type Mode string

const (
	// Prefixed names an item {slug}__{name} (or a hashed form), so servers never clash.
	Prefixed Mode = "prefixed"
	// Original keeps each item's own name; a name two servers offer is served by one.
	Original Mode = "original"
)

// validName is what OpenAI-style clients accept as a tool name.
var validName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// plainSlug: a slug whose prefixed names can be read back unambiguously — no "__" inside
// and no '_' at either end, so the first "__" of `{slug}__{name}` is the separator.
var plainSlug = regexp.MustCompile(`^[a-zA-Z0-9-]+(_[a-zA-Z0-9-]+)*$`)

// PrefixedName is the name an item of server slug has in prefixed mode: `{slug}__{name}`
// when the slug is plain (see plainSlug) and the result a valid tool name; otherwise
// `_{16 hex digits of a hash of both}_{the same, every other character '_'}` cut to 64.
// A plain name never starts with '_', a hashed one always does, and a plain name reads
// back as exactly one (slug, name): the mapping is injective, and it is deterministic, so
// every replica, before and after a restart, hands out the same names.
func PrefixedName(slug, name string) string {
	if n := slug + "__" + name; plainSlug.MatchString(slug) && validName.MatchString(n) {
		return n
	}
	clean := []byte(slug + "__" + name)
	for i, c := range clean {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			clean[i] = '_'
		}
	}
	h := sha256.Sum256([]byte(slug + "\x00" + name))
	out := "_" + hex.EncodeToString(h[:8]) + "_" + string(clean)
	if len(out) > 64 {
		out = out[:64]
	}
	return out
}

// uriPrefix starts a resource URI (or template) two servers of an agent both offer:
// agentmcp://server/{slug, path-escaped}/{the server's own URI}. Such a URI is served
// under this form only, for both servers, while they clash.
const uriPrefix = "agentmcp://server/"

// ServerURI is the URI the gateway serves a clashing resource (or template) uri of slug at.
func ServerURI(slug, uri string) string {
	return uriPrefix + url.PathEscape(slug) + "/" + uri
}

// SplitServerURI reads a ServerURI back.
func SplitServerURI(u string) (slug, uri string, ok bool) {
	rest, ok := strings.CutPrefix(u, uriPrefix)
	if !ok {
		return "", "", false
	}
	esc, uri, ok := strings.Cut(rest, "/")
	if !ok {
		return "", "", false
	}
	slug, err := url.PathUnescape(esc)
	return slug, uri, err == nil
}
