package probe

import (
	"net/url"
	"strings"
)

// SSE reports whether a URL names the legacy HTTP+SSE transport (its path ends in /sse)
// rather than Streamable HTTP: the probe speaks SSE to it first, and the registry view
// publishes it as an "sse" remote.
func SSE(u *url.URL) bool { return strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/sse") }
