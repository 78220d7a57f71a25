package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/server"
	"github.com/agentmcp/agentmcp/server/oauth"
)

var oauthClientsOnce sync.Once
var oauthClientsErr error

// oauthClients installs tools/oauth-clients (the TypeScript SDK and mcp-remote, pinned by
// its lock) once and returns its directory. Without Node it skips, except in CI.
func oauthClients(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("npm is needed for the OAuth client tests")
		}
		t.Skip("node/npm not installed: the OAuth tests with the TypeScript SDK and mcp-remote need them (tools/oauth-clients)")
	}
	dir, _ := filepath.Abs("../tools/oauth-clients")
	oauthClientsOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(dir, "node_modules/mcp-remote/dist/proxy.js")); err == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			oauthClientsErr = err
			t.Logf("npm ci: %s", out)
		}
	})
	if oauthClientsErr != nil {
		t.Fatalf("installing tools/oauth-clients: %v", oauthClientsErr)
	}
	return dir
}

// runSDKClient runs tools/oauth-clients/sdk-client.mjs and returns its steps by name.
func runSDKClient(t *testing.T, dir string, args ...string) map[string]map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"sdk-client.mjs"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	steps := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var s map[string]any
		if json.Unmarshal([]byte(line), &s) == nil {
			steps[s["step"].(string)] = s
		}
	}
	t.Logf("sdk-client:\n%s", out)
	if err != nil || steps["failed"] != nil {
		t.Fatalf("sdk-client: %v\n%s", err, out)
	}
	return steps
}

func checkSDKSteps(t *testing.T, steps map[string]map[string]any) {
	t.Helper()
	if c := steps["called"]; c == nil || c["tools"] != 1.0 || c["isError"] != false {
		t.Fatalf("listed and called: %v", steps)
	}
	if steps["consented"] == nil || steps["tokens"]["prefix"] != oauth.AccessPrefix {
		t.Fatalf("consent and tokens: %v", steps)
	}
	if r := steps["refreshed"]; r == nil || r["rotated"] != true {
		t.Fatalf("refresh: %v", steps)
	}
	if r := steps["revoked"]; r == nil || r["refused"] != true || r["status"] != 200.0 {
		t.Fatalf("after revocation: %v", steps)
	}
}

// TestOAuthTypeScriptSDK: the TypeScript SDK's own OAuth client (auth() with an
// OAuthClientProvider) registers, gets the person's consent, lists and calls tools,
// refreshes, and is refused once revoked.
func TestOAuthTypeScriptSDK(t *testing.T) {
	dir := oauthClients(t)
	e := newOAuthEnv(t, apitest.OpenSQLite(t))
	steps := runSDKClient(t, dir, e.gatewayURL("agent-1"), e.KeyA)
	if r := steps["registered"]; r == nil || !strings.HasPrefix(r["clientId"].(string), "amc_") {
		t.Fatalf("registration: %v", steps)
	}
	checkSDKSteps(t, steps)
}

// TestOAuthTypeScriptSDKMetadataDocument: the same with a client ID metadata document
// (served by the test on loopback, allowed by a test-only fetcher) instead of registering.
func TestOAuthTypeScriptSDKMetadataDocument(t *testing.T) {
	dir := oauthClients(t)
	var docURL string
	doc := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"client_id": docURL, "client_name": "SDK doc client", "redirect_uris": []string{"http://127.0.0.1:8976/callback"},
			"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"}, "token_endpoint_auth_method": "none"})
	}))
	defer doc.Close()
	docURL = doc.URL + "/client.json"
	e := newOAuthEnv(t, apitest.OpenSQLite(t), func(cfg *server.Config) { cfg.OAuth.ClientFetcher = doc.Client() })
	steps := runSDKClient(t, dir, e.gatewayURL("agent-1"), e.KeyA, docURL)
	if steps["registered"] == nil || steps["registered"]["clientId"] != docURL {
		t.Fatalf("a metadata-document client registered: %v", steps)
	}
	checkSDKSteps(t, steps)
}

// TestOAuthMCPRemote: mcp-remote, pointed at a gateway with no header (as `npx mcp-remote
// <URL>` is), discovers the authorization server, registers and sends the person to the
// console's consent page.
func TestOAuthMCPRemote(t *testing.T) {
	dir := oauthClients(t)
	e := newOAuthEnv(t, apitest.OpenSQLite(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, "node", "node_modules/mcp-remote/dist/proxy.js", e.gatewayURL("agent-1"), "18977", "--allow-http")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+home, "MCP_REMOTE_CONFIG_DIR="+home, "BROWSER=true", "DISPLAY=")
	stdin, _ := cmd.StdinPipe() // held open: mcp-remote serves stdio until it closes
	defer stdin.Close()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	authURL := regexp.MustCompile(`https?://\S+/oauth/authorize\?\S+`)
	var seen []string
	found := ""
	sc := bufio.NewScanner(stderr)
	for found == "" && sc.Scan() { // ends when mcp-remote exits or ctx kills it
		seen = append(seen, sc.Text())
		found = authURL.FindString(sc.Text())
	}
	if found == "" {
		t.Fatalf("mcp-remote never sent the person to /oauth/authorize:\n%s", strings.Join(seen, "\n"))
	}
	resp := e.get(found, nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, e.base+oauth.ConsolePath) {
		t.Fatalf("mcp-remote's authorization request: %d to %q, want the consent page", resp.StatusCode, loc)
	}
}
