package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// origins is the DNS-rebinding protection of the MCP transport spec: a request whose
// Origin (when it has one) is not an allowed origin is refused, and so is one that reached
// a loopback listener under a Host that is not a loopback name (a page of evil.example
// whose name was rebound to 127.0.0.1 sends Host: evil.example).
type origins struct {
	list map[string]bool // scheme://host[:port], lower case, default ports dropped
}

func newOrigins(publicURL string, allowed []string) origins {
	o := origins{list: map[string]bool{}}
	for _, s := range append([]string{publicURL}, allowed...) {
		if n, ok := normOrigin(s); ok {
			o.list[n] = true
		}
	}
	return o
}

// normOrigin reduces a URL or an Origin header to scheme://host[:port].
func normOrigin(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" || (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		return u.Scheme + "://" + host, true
	}
	return u.Scheme + "://" + net.JoinHostPort(host, port), true
}

// allowed reports whether r passes both checks. A loopback listener also accepts loopback
// origins: a page served from the same machine's loopback is not a rebound name.
func (o origins) allowed(r *http.Request) bool {
	local := false
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			local = ap.Addr().IsLoopback()
		}
	}
	if local && !loopbackName(r.Host) {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser's cross-origin request
	}
	n, ok := normOrigin(origin)
	if !ok {
		return false // "null" and the like
	}
	if o.list[n] {
		return true
	}
	u, _ := url.Parse(n)
	return local && loopbackName(u.Host)
}

// loopbackName: localhost (or a name under it), or a loopback address, with any port.
func loopbackName(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(strings.ToLower(host), "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// OriginAllowed reports whether r passes the DNS-rebinding checks (its Origin, when it
// has one, is allowed, and so is its Host): the only origins CORS may let read the
// gateway's answers.
func (g *Gateway) OriginAllowed(r *http.Request) bool { return g.origins.allowed(r) }
