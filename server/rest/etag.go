package rest

import (
	"strings"

	"github.com/agentmcp/agentmcp/store"
)

func etag(version string) *string {
	t := `"` + version + `"`
	return &t
}

// serverTag is m's entity tag, store.ServerVersion quoted, in one allocation (a cached GET
// makes one per request).
func serverTag(m store.MCPServer) string {
	var buf [48]byte
	return string(append(store.AppendServerVersion(append(buf[:0], '"'), m), '"'))
}

// tags splits an If-Match / If-None-Match value into its entity tags; weak tags keep their
// W/ prefix.
func tags(header string) []string {
	var out []string
	for _, t := range strings.Split(header, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// ifMatch is If-Match's condition, for the store to check inside its transaction.
// Strong comparison: a weak tag never matches.
func ifMatch(header *string) store.Precondition {
	if header == nil {
		return store.Precondition{}
	}
	var versions []string
	for _, t := range tags(*header) {
		if t == "*" {
			versions = append(versions, store.AnyVersion)
		} else if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
			versions = append(versions, t[1:len(t)-1])
		}
	}
	return store.IfMatch(versions...)
}

// noneMatch reports whether If-None-Match names the current version (weak comparison).
func noneMatch(header *string, version string) bool {
	if header == nil {
		return false
	}
	for _, t := range tags(*header) {
		if t == "*" || strings.TrimPrefix(t, "W/") == `"`+version+`"` {
			return true
		}
	}
	return false
}
