package server_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"

	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/server/oauth"
)

// TestOAuthConsentInBrowser: a person sent to the consent page signs in, sees the client
// and the agent, allows, and the browser lands on the client's redirect URI with a code
// that buys a working token; the agent's page then lists the client and revokes it.
func TestOAuthConsentInBrowser(t *testing.T) {
	root := startChromium(t)
	axeJS, err := os.ReadFile("../console/node_modules/axe-core/axe.min.js")
	if err != nil {
		t.Skip("SKIPPED: console/node_modules/axe-core is not installed (make console installs it)")
	}
	e := newOAuthEnv(t, apitest.OpenSQLite(t))
	landed := make(chan url.Values, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case landed <- r.URL.Query():
		default:
		}
		w.Write([]byte("back at the client"))
	}))
	defer cb.Close()
	redirect := cb.URL + "/cb"
	id := e.register(redirect)
	verifier, challenge := pkcePair()
	consent := e.authorize(id, redirect, challenge, e.gatewayURL("agent-1")).Header.Get("Location")

	b := newTab(t, root)
	b.viewport(1440, 900)
	b.open(consent)
	b.waitText("Sign in to agentmcp")
	b.fill("#main input[name=apikey]", e.KeyA)
	b.keys("\r")
	b.waitText("asks to use the gateway of agent")
	b.waitText("Test Client")
	b.waitText(cb.URL)
	b.axe("consent", string(axeJS))
	b.click(button("Allow"))
	b.waitText("back at the client")
	q := <-landed // the page is the callback's answer: the request has been served
	if q.Get("state") != "st-1" || q.Get("iss") != e.base || q.Get("code") == "" {
		t.Fatalf("callback query %v", q)
	}
	var tk tokens
	if resp := e.form(oauth.TokenPath, url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {redirect},
		"client_id": {id}, "code_verifier": {verifier}}, &tk); resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d", resp.StatusCode)
	}
	if status, _ := e.gatewayStatus("agent-1", tk.AccessToken); status != http.StatusOK {
		t.Fatalf("gateway: %d", status)
	}

	b.open(e.base + "/console/#/agents/agent-1")
	b.waitText("Connected clients")
	b.waitJS("the client's row", `[...document.querySelectorAll("table.list td")].some((td) => td.innerText.includes("Test Client"))`)
	b.click(`//button[@aria-label="Revoke client Test Client"]`)
	b.click(`//dialog//button[normalize-space()="Revoke"] | //*[@role="dialog"]//button[normalize-space()="Revoke"]`)
	b.waitText("No client connected.")
	if status, _ := e.gatewayStatus("agent-1", tk.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("gateway after Revoke in the console: %d, want 401", status)
	}
}
