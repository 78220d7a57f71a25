package server_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/server/oauth"
)

// TestCORSInBrowser: a page of an allowed origin (app.example, resolved to loopback by the
// browser) reads the authorization server's metadata and calls an agent's gateway with an
// OAuth access token by fetch(): initialize, its Mcp-Session-Id read, then tools/list in
// that session. The same page on another origin (evil.example) is blocked by the browser.
func TestCORSInBrowser(t *testing.T) {
	pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>client</title><p>a browser MCP client</p>")
	}))
	t.Cleanup(pages.Close)
	_, port, _ := net.SplitHostPort(pages.Listener.Addr().String())
	allowed := "http://app.example:" + port
	e := newOAuthEnv(t, apitest.OpenSQLite(t), func(cfg *app.Config) { cfg.Gateway.AllowedOrigins = []string{allowed} })
	id := e.register("http://127.0.0.1:8123/callback")
	tk := e.grant(id, "http://127.0.0.1:8123/callback", "agent-1")

	ctx := startChromiumWith(t, chromedp.Flag("host-resolver-rules", "MAP app.example 127.0.0.1, MAP evil.example 127.0.0.1"))
	script := fmt.Sprintf(`(async () => {
  try {
    const meta = await (await fetch(%[1]q)).json();
    const headers = {"Authorization": "Bearer " + %[2]q, "Content-Type": "application/json", "Accept": "application/json, text/event-stream"};
    const init = await fetch(%[3]q, {method: "POST", headers, body: JSON.stringify({jsonrpc: "2.0", id: 1, method: "initialize",
      params: {protocolVersion: "2025-06-18", capabilities: {}, clientInfo: {name: "page", version: "1"}}})});
    const session = init.headers.get("Mcp-Session-Id");
    await init.text();
    const h2 = {...headers, "Mcp-Session-Id": session, "Mcp-Protocol-Version": "2025-06-18"};
    await fetch(%[3]q, {method: "POST", headers: h2, body: JSON.stringify({jsonrpc: "2.0", method: "notifications/initialized"})});
    const list = await fetch(%[3]q, {method: "POST", headers: h2, body: JSON.stringify({jsonrpc: "2.0", id: 2, method: "tools/list"})});
    const text = await list.text();
    return [String(!!meta.token_endpoint), String(init.status), String(!!session), String(list.status), String(text.includes("weather"))].join(" ");
  } catch (err) {
    return "blocked: " + err;
  }
})()`, e.base+oauth.ASMetadataPath, tk.AccessToken, e.gatewayURL("agent-1"))

	b := newTab(t, ctx)
	b.open(allowed + "/")
	if got := eval[string](b, script); got != "true 200 true 200 true" {
		t.Fatalf("a page of an allowed origin: %q, want metadata read, initialize 200 with its session id, tools/list 200 with the tool", got)
	}
	b.open("http://evil.example:" + port + "/")
	if got := eval[string](b, script); got[:min(len(got), 8)] != "blocked:" {
		t.Fatalf("a page of another origin: %q, want blocked by the browser", got)
	}
}
