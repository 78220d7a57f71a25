package app

import (
	"net/http"
	"strings"

	"github.com/agentmcp/agentmcp/server/gateway"
	"github.com/agentmcp/agentmcp/server/oauth"
)

// CORS for browser-based MCP and OAuth clients (the MCP Inspector in a browser, web apps).
// No credentials mode: nothing here rests on cookies, every request carries its own
// key or token.
//   - The authorization server's public endpoints (metadata, registration, token,
//     revocation) answer any origin ("*"): what they give needs a code, a PKCE verifier
//     or a token the caller already holds, never an ambient credential.
//   - The gateway's MCP endpoint answers only origins its DNS-rebinding check allows
//     (--allowed-origins, the public URL's, loopback on loopback), echoed with
//     Vary: Origin; a preflight of any other origin gets 403.
//
// The consent endpoint is the console's own (same origin) and gets nothing.
const (
	corsAllowHeaders  = "Authorization, Content-Type, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID"
	corsExposeHeaders = "Mcp-Session-Id, WWW-Authenticate, Mcp-Protocol-Version"
	corsMaxAge        = "600"
)

func cors(g *gateway.Gateway, withOAuth bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		h := w.Header()
		switch {
		case isGatewayPath(r):
			h.Add("Vary", "Origin")
			if !g.OriginAllowed(r) {
				if preflight {
					http.Error(w, "Forbidden: this origin may not use the gateway (--allowed-origins)", http.StatusForbidden)
					return
				}
				break // the gateway refuses it (403), without CORS headers a browser can read
			}
			h.Set("Access-Control-Allow-Origin", origin)
			if preflight {
				h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
				h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
				h.Set("Access-Control-Max-Age", corsMaxAge)
				w.WriteHeader(http.StatusNoContent)
				return
			}
			h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		case withOAuth && publicOAuthPath(r.URL.Path):
			h.Set("Access-Control-Allow-Origin", "*")
			if preflight {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Mcp-Protocol-Version")
				h.Set("Access-Control-Max-Age", corsMaxAge)
				w.WriteHeader(http.StatusNoContent)
				return
			}
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
		}
		next.ServeHTTP(w, r)
	})
}

// publicOAuthPath: the authorization server's endpoints a browser client calls across
// origins, and every well-known metadata path a client's discovery may try (a 404 it
// can read moves it on to the next; one it cannot read is a network error).
func publicOAuthPath(p string) bool {
	switch p {
	case oauth.RegisterPath, oauth.TokenPath, oauth.RevokePath:
		return true
	}
	return strings.HasPrefix(p, "/.well-known/oauth-") || strings.HasPrefix(p, oauth.OIDCMetadataPath)
}
