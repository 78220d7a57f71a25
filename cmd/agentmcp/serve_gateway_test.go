package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeGatewaySettings: serve hands --allowed-origins to the gateway (another origin is
// still refused) and makes --public-url's default from its listener, which the gateway's 401
// names as the resource metadata's host.
func TestServeGatewaySettings(t *testing.T) {
	p := startServe(t, filepath.Join(t.TempDir(), "a.db"), "--allowed-origins", " https://app.example.com, ")
	key := p.printedKey(t)
	public := strings.Replace(p.base, "127.0.0.1", "localhost", 1) // serve's baseURL of a loopback listener
	gw := p.base + "/v3/ai-agents/agent-builder/agents/support/mcp"
	post := func(origin, key string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, gw, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for origin, refused := range map[string]bool{"https://app.example.com": false, public: false, "https://evil.example": true} {
		if st := post(origin, key).StatusCode; (st == http.StatusForbidden) != refused {
			t.Errorf("Origin %s: %d, want refused=%v", origin, st, refused)
		}
	}
	resp := post("", "")
	want := `resource_metadata="` + public + `/.well-known/oauth-protected-resource/v3/ai-agents/agent-builder/agents/support/mcp"`
	if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(got, want) {
		t.Errorf("without a key: %d %q, want 401 with %s", resp.StatusCode, got, want)
	}
}
