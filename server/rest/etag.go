package rest

import (
	"context"
	"strings"

	"github.com/agentmcp/agentmcp/store"
)

func etag(version string) *string {
	t := `"` + version + `"`
	return &t
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

// ifMatch puts If-Match's condition on ctx for the store to check inside its transaction.
// Strong comparison: a weak tag never matches.
func ifMatch(ctx context.Context, header *string) context.Context {
	if header == nil {
		return ctx
	}
	ts := tags(*header)
	return store.WithIfMatch(ctx, func(version string) bool {
		for _, t := range ts {
			if t == "*" || t == `"`+version+`"` {
				return true
			}
		}
		return false
	})
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
