package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/server/oauth"
)

const allowedOrigin = "http://inspector.example:6274"

// corsEnv is a server whose gateway allows allowedOrigin, with agent-1.
func corsEnv(t *testing.T) *apitest.Env {
	t.Helper()
	env, c := gatewayEnv(t, apitest.OpenSQLite(t), func(cfg *app.Config) { cfg.Gateway.AllowedOrigins = []string{allowedOrigin} })
	if _, err := c.CreateAgent(context.Background(), client.CreateAgent{Name: "A", Uid: ptr("agent-1")}); err != nil {
		t.Fatal(err)
	}
	return env
}

// corsRequest sends a request from a browser page of origin and returns the response,
// its body read.
func corsRequest(t *testing.T, method, url, origin string, header map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Origin", origin)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func preflight(t *testing.T, url, origin, method, headers string) *http.Response {
	t.Helper()
	resp, _ := corsRequest(t, http.MethodOptions, url, origin, map[string]string{"Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}, "")
	return resp
}

func hasAll(list string, want ...string) bool {
	have := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		have[strings.ToLower(strings.TrimSpace(s))] = true
	}
	for _, w := range want {
		if !have[strings.ToLower(w)] {
			return false
		}
	}
	return true
}

// TestCORSAuthorizationServer: a browser client of any origin may read the authorization
// server's metadata and call registration, token and revocation (preflights and answers:
// "*", never credentials mode); the consent endpoint, the console's own, gets no CORS.
func TestCORSAuthorizationServer(t *testing.T) {
	env := corsEnv(t)
	base := env.Server.URL
	const origin = "https://any.example"
	for _, path := range []string{oauth.ASMetadataPath, oauth.OIDCMetadataPath, oauth.ResourceMetadataPrefix + "/v3/ai-agents/agent-builder/agents/agent-1/mcp"} {
		resp := preflight(t, base+path, origin, "GET", "mcp-protocol-version")
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
			!hasAll(resp.Header.Get("Access-Control-Allow-Headers"), "Mcp-Protocol-Version") {
			t.Fatalf("preflight of %s: %d %v", path, resp.StatusCode, resp.Header)
		}
		resp, body := corsRequest(t, http.MethodGet, base+path, origin, nil, "")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Credentials") != "" || !strings.Contains(body, `"authorization_`) {
			t.Fatalf("GET %s from a page: %d %v %s", path, resp.StatusCode, resp.Header, body)
		}
	}
	for _, path := range []string{oauth.RegisterPath, oauth.TokenPath, oauth.RevokePath} {
		resp := preflight(t, base+path, origin, "POST", "content-type")
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
			!hasAll(resp.Header.Get("Access-Control-Allow-Methods"), "POST") || !hasAll(resp.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
			t.Fatalf("preflight of POST %s: %d %v", path, resp.StatusCode, resp.Header)
		}
	}
	resp, body := corsRequest(t, http.MethodPost, base+oauth.RegisterPath, origin, map[string]string{"Content-Type": "application/json"},
		`{"redirect_uris":["http://localhost:6274/oauth/callback"],"client_name":"Inspector","token_endpoint_auth_method":"none"}`)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("registration from a page: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, _ = corsRequest(t, http.MethodPost, base+oauth.TokenPath, origin, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "grant_type=refresh_token&refresh_token=x")
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("a refused token request from a page (its error must be readable): %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = corsRequest(t, http.MethodGet, base+oauth.ASMetadataPath+"/v3", origin, nil, "")
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("a metadata path discovery tries in vain (its 404 must be readable): %d %v", resp.StatusCode, resp.Header)
	}
	resp = preflight(t, base+oauth.ConsentPath+"x", origin, "POST", "content-type, apikey")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight of the consent endpoint: %v", resp.Header)
	}
}

// TestCORSGateway: a page of an allowed origin may call an agent's gateway (preflight with
// the MCP headers; answers, 401s included, readable with Mcp-Session-Id and
// WWW-Authenticate exposed); any other origin is refused, preflight and request, with no
// CORS header (the DNS-rebinding protection stays).
func TestCORSGateway(t *testing.T) {
	env := corsEnv(t)
	gw := env.URL + "/ai-agents/agent-builder/agents/agent-1/mcp"
	resp := preflight(t, gw, allowedOrigin, "POST", "authorization, content-type, mcp-session-id, mcp-protocol-version, last-event-id")
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != allowedOrigin || h.Get("Access-Control-Allow-Credentials") != "" ||
		!hasAll(h.Get("Access-Control-Allow-Methods"), "GET", "POST", "DELETE") ||
		!hasAll(h.Get("Access-Control-Allow-Headers"), "Authorization", "Content-Type", "Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-ID") ||
		!hasAll(h.Get("Vary"), "Origin") {
		t.Fatalf("preflight from an allowed origin: %d %v", resp.StatusCode, h)
	}
	mcpHeaders := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream", "Authorization": "Bearer " + env.KeyA}
	resp, body := corsRequest(t, http.MethodPost, gw, allowedOrigin, mcpHeaders, initializeBody)
	h = resp.Header
	if resp.StatusCode != http.StatusOK || h.Get("Access-Control-Allow-Origin") != allowedOrigin || h.Get("Mcp-Session-Id") == "" ||
		!hasAll(h.Get("Access-Control-Expose-Headers"), "Mcp-Session-Id", "WWW-Authenticate", "Mcp-Protocol-Version") {
		t.Fatalf("initialize from an allowed origin: %d %v %s", resp.StatusCode, h, body)
	}
	resp, _ = corsRequest(t, http.MethodPost, gw, allowedOrigin, map[string]string{"Content-Type": "application/json"}, initializeBody)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Access-Control-Allow-Origin") != allowedOrigin || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no key from an allowed origin (the page reads the challenge): %d %v", resp.StatusCode, resp.Header)
	}

	const evil = "http://evil.example"
	resp = preflight(t, gw, evil, "POST", "authorization, content-type")
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = corsRequest(t, http.MethodPost, gw, evil, mcpHeaders, initializeBody)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("initialize from another origin: %d %v", resp.StatusCode, resp.Header)
	}
}
