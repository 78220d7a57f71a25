package server_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/server"
	"github.com/agentmcp/agentmcp/server/oauth"
	"github.com/agentmcp/agentmcp/store"
)

// testClock is an injected clock that tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// oauthEnv is a server with two agents (agent-1 with one upstream tool, agent-2) and a
// client that does not follow redirects, so the test sees each step.
type oauthEnv struct {
	*apitest.Env
	t     *testing.T
	base  string // the issuer: the server's root URL
	clock *testClock
	hc    *http.Client
}

func newOAuthEnv(t *testing.T, st store.Store, tweak ...func(*server.Config)) *oauthEnv {
	t.Helper()
	clock := &testClock{now: time.Now()}
	env, c := gatewayEnv(t, st, append([]func(*server.Config){func(cfg *server.Config) { cfg.OAuth.Now = clock.Now }}, tweak...)...)
	ctx := context.Background()
	up := newUpstream(t, "weather", 1, "", nil)
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "weather", Slug: "weather", Url: up.URL}); err != nil {
		t.Fatal(err)
	}
	for _, uid := range []string{"agent-1", "agent-2"} {
		if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "Agent " + uid, Uid: ptr(uid), McpServers: &[]string{"weather"}}); err != nil {
			t.Fatal(err)
		}
	}
	return &oauthEnv{Env: env, t: t, base: env.Server.URL, clock: clock,
		hc: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (e *oauthEnv) gatewayURL(uid string) string {
	return e.URL + "/ai-agents/agent-builder/agents/" + uid + "/mcp"
}

// do sends a request and decodes a JSON answer into out (when not nil).
func (e *oauthEnv) do(req *http.Request, out any) *http.Response {
	e.t.Helper()
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", req.Method, req.URL, err, body)
		}
	}
	return resp
}

func (e *oauthEnv) get(u string, out any) *http.Response {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return e.do(req, out)
}

func (e *oauthEnv) form(path string, v url.Values, out any) *http.Response {
	req, _ := http.NewRequest(http.MethodPost, e.base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req, out)
}

type oauthErr struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// register registers a client with redirect URIs (DCR).
func (e *oauthEnv) register(redirects ...string) string {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"redirect_uris": redirects, "client_name": "Test Client", "token_endpoint_auth_method": "none"})
	req, _ := http.NewRequest(http.MethodPost, e.base+oauth.RegisterPath, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	var out struct {
		ClientID string `json:"client_id"`
	}
	if resp := e.do(req, &out); resp.StatusCode != http.StatusCreated || out.ClientID == "" {
		e.t.Fatalf("register: %d %+v", resp.StatusCode, out)
	}
	return out.ClientID
}

// pkcePair returns a verifier and its S256 challenge.
func pkcePair() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize sends an authorization request and returns the response.
func (e *oauthEnv) authorize(clientID, redirect, challenge, resource string) *http.Response {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "code_challenge": {challenge},
		"code_challenge_method": {"S256"}, "state": {"st-1"}, "resource": {resource}}
	return e.get(e.base+oauth.AuthorizePath+"?"+q.Encode(), nil)
}

// consentRequest is the request id of the consent page an authorization sent the person to.
func (e *oauthEnv) consentRequest(resp *http.Response) string {
	e.t.Helper()
	loc := resp.Header.Get("Location")
	id, ok := strings.CutPrefix(loc, e.base+oauth.ConsolePath)
	if resp.StatusCode != http.StatusFound || !ok || id == "" {
		e.t.Fatalf("authorize: %d to %q, want the console's consent page", resp.StatusCode, loc)
	}
	return id
}

// decide plays the person on the consent page.
func (e *oauthEnv) decide(id, key, contentType, body string) (*http.Response, oauth.Decided) {
	req, _ := http.NewRequest(http.MethodPost, e.base+oauth.ConsentPath+id, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("apikey", key)
	}
	var d oauth.Decided
	return e.do(req, &d), d
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Error        string `json:"error"`
}

// grant runs the whole flow for clientID at agent uid and returns the tokens.
func (e *oauthEnv) grant(clientID, redirect, uid string) tokens {
	e.t.Helper()
	verifier, challenge := pkcePair()
	id := e.consentRequest(e.authorize(clientID, redirect, challenge, e.gatewayURL(uid)))
	resp, d := e.decide(id, e.KeyA, "application/json", `{"approve":true}`)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("approve: %d", resp.StatusCode)
	}
	code := e.callback(d.RedirectTo, redirect).Get("code")
	var tk tokens
	if resp := e.form(oauth.TokenPath, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {clientID}, "code_verifier": {verifier}, "resource": {e.gatewayURL(uid)}}, &tk); resp.StatusCode != http.StatusOK ||
		!strings.HasPrefix(tk.AccessToken, oauth.AccessPrefix) || tk.RefreshToken == "" || tk.TokenType != "Bearer" {
		e.t.Fatalf("token: %d %+v", resp.StatusCode, tk)
	}
	return tk
}

// callback checks a redirect to the client (state and iss, RFC 9207) and returns its query.
func (e *oauthEnv) callback(to, redirect string) url.Values {
	e.t.Helper()
	u, err := url.Parse(to)
	if err != nil || !strings.HasPrefix(to, redirect) {
		e.t.Fatalf("redirect to %q, want %q", to, redirect)
	}
	q := u.Query()
	if q.Get("state") != "st-1" || q.Get("iss") != e.base {
		e.t.Fatalf("callback %q: want state st-1 and iss %s", to, e.base)
	}
	return q
}

// gatewayStatus is the status of a ping to agent uid's gateway with token.
func (e *oauthEnv) gatewayStatus(uid, token string) (int, http.Header) {
	req, _ := http.NewRequest(http.MethodPost, e.gatewayURL(uid), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp := e.do(req, nil)
	return resp.StatusCode, resp.Header
}

// TestOAuthMetadata: each gateway names its resource metadata in its 401, the metadata
// names agentmcp as the authorization server, whose metadata (both well-known paths)
// promises S256, client ID metadata documents and a registration endpoint.
func TestOAuthMetadata(t *testing.T) {
	e := newOAuthEnv(t, apitest.OpenSQLite(t))
	status, h := e.gatewayStatus("agent-1", "")
	prm := e.base + "/.well-known/oauth-protected-resource/v3/ai-agents/agent-builder/agents/agent-1/mcp"
	if want := `Bearer realm="agentmcp", resource_metadata="` + prm + `"`; status != http.StatusUnauthorized || h.Get("WWW-Authenticate") != want {
		t.Fatalf("no header: %d %q, want 401 %q", status, h.Get("WWW-Authenticate"), want)
	}
	var pr struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		Scopes               []string `json:"scopes_supported"`
	}
	if resp := e.get(prm, &pr); resp.StatusCode != http.StatusOK || pr.Resource != e.gatewayURL("agent-1") || len(pr.AuthorizationServers) != 1 || pr.AuthorizationServers[0] != e.base {
		t.Fatalf("resource metadata: %d %+v", resp.StatusCode, pr)
	}
	for _, path := range []string{oauth.ASMetadataPath, oauth.OIDCMetadataPath} {
		var as map[string]any
		if resp := e.get(e.base+path, &as); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if as["issuer"] != e.base || fmt.Sprint(as["code_challenge_methods_supported"]) != "[S256]" || as["client_id_metadata_document_supported"] != true ||
			as["registration_endpoint"] != e.base+oauth.RegisterPath || as["authorization_response_iss_parameter_supported"] != true {
			t.Fatalf("%s: %v", path, as)
		}
	}
}

// TestOAuthFlow: a registered client gets tokens through the person's consent, uses the
// gateway with them like an agent key (tools listed and called), refreshes, and is refused
// once the grant is revoked; agent keys keep working beside it.
func TestOAuthFlow(t *testing.T) {
	e := newOAuthEnv(t, apitest.OpenSQLite(t))
	id := e.register("http://127.0.0.1:8123/callback")
	// Loopback redirect ports may vary (RFC 8252 §7.3).
	tk := e.grant(id, "http://127.0.0.1:40999/callback", "agent-1")

	cs := gatewayClient(t, e.Env, "agent-1", tk.AccessToken, nil)
	tools := allTools(t, cs)
	if len(tools) != 1 {
		t.Fatalf("tools = %d, want 1", len(tools))
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tools[0].Name, Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("call: %v %+v", err, res)
	}
	cs.Close()

	// Audience: the token is agent-1's only.
	if status, h := e.gatewayStatus("agent-2", tk.AccessToken); status != http.StatusUnauthorized || !strings.Contains(h.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("token of agent-1 at agent-2: %d %q", status, h.Get("WWW-Authenticate"))
	}

	// Refresh rotates: the new pair works, the old refresh token is spent.
	var tk2 tokens
	if resp := e.form(oauth.TokenPath, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}, "client_id": {id}}, &tk2); resp.StatusCode != http.StatusOK || tk2.AccessToken == tk.AccessToken {
		t.Fatalf("refresh: %d %+v", resp.StatusCode, tk2)
	}
	if status, _ := e.gatewayStatus("agent-1", tk2.AccessToken); status != http.StatusOK {
		t.Fatalf("refreshed token: %d", status)
	}

	// Access tokens expire.
	e.clock.Add(oauth.AccessTTL)
	if status, _ := e.gatewayStatus("agent-1", tk2.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("expired access token: %d, want 401", status)
	}
	var tk3 tokens
	if resp := e.form(oauth.TokenPath, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk2.RefreshToken}, "client_id": {id}}, &tk3); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh after expiry: %d", resp.StatusCode)
	}

	// Revocation (RFC 7009) revokes the grant.
	if resp := e.form(oauth.RevokePath, url.Values{"token": {tk3.RefreshToken}, "client_id": {id}}, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if status, _ := e.gatewayStatus("agent-1", tk3.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d, want 401", status)
	}
	// API keys keep working beside OAuth.
	if status, _ := e.gatewayStatus("agent-1", e.KeyA); status != http.StatusOK {
		t.Fatalf("fullAccess key: %d", status)
	}

	// The console's list and Revoke (REST, fullAccess).
	tk5 := e.grant(id, "http://127.0.0.1:8123/callback", "agent-1")
	g := e.Gen(t, e.KeyA)
	gl, err := g.AgentOAuthControllerListGrantsWithResponse(context.Background(), "agent-1")
	if err != nil || gl.JSON200 == nil || len(gl.JSON200.Data) != 1 || gl.JSON200.Data[0].ClientName != "Test Client" || strings.Contains(string(gl.Body), tk5.AccessToken) {
		t.Fatalf("list grants: %v %s", err, gl.Body)
	}
	if gr, err := g.AgentOAuthControllerRevokeGrantWithResponse(context.Background(), "agent-1", gl.JSON200.Data[0].Id); err != nil || gr.StatusCode() != http.StatusOK {
		t.Fatalf("revoke grant: %v", err)
	}
	if status, _ := e.gatewayStatus("agent-1", tk5.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("token of a grant revoked in the console: %d, want 401", status)
	}
	if ev, err := e.Store.ListAuditEvents(context.Background(), e.AppA, store.AuditQuery{Limit: 10, Action: store.AuditOAuthRevoke}); err != nil || len(ev) != 2 {
		t.Fatalf("revoke audit events: %d, %v", len(ev), err)
	}

	// Deleting the agent revokes its grants.
	tk4 := e.grant(id, "http://127.0.0.1:8123/callback", "agent-2")
	if err := e.Store.DeleteAgent(context.Background(), e.AppA, "agent-2", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if status, _ := e.gatewayStatus("agent-2", tk4.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("token of a deleted agent: %d, want 401", status)
	}
	events, err := e.Store.ListAuditEvents(context.Background(), e.AppA, store.AuditQuery{Limit: 10, Action: store.AuditOAuthGrant})
	if err != nil || len(events) != 3 {
		t.Fatalf("grant audit events: %d, %v", len(events), err)
	}
}

// TestOAuthRefusals: every way to get or use a token that must fail does.
func TestOAuthRefusals(t *testing.T) {
	e := newOAuthEnv(t, apitest.OpenSQLite(t))
	const redirect = "https://client.example/cb"
	id := e.register(redirect)

	t.Run("WrongVerifierWrongRedirectReusedCode", func(t *testing.T) {
		verifier, challenge := pkcePair()
		req := e.consentRequest(e.authorize(id, redirect, challenge, e.gatewayURL("agent-1")))
		_, d := e.decide(req, e.KeyA, "application/json", `{"approve":true}`)
		code := e.callback(d.RedirectTo, redirect).Get("code")
		exchange := func(verifier, redirect string) (int, tokens) {
			var tk tokens
			resp := e.form(oauth.TokenPath, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "client_id": {id}, "code_verifier": {verifier}}, &tk)
			return resp.StatusCode, tk
		}
		other, _ := pkcePair()
		if status, tk := exchange(other, redirect); status != http.StatusBadRequest || tk.Error != "invalid_grant" {
			t.Fatalf("wrong verifier: %d %+v", status, tk)
		}
		if status, tk := exchange(verifier, redirect+"/other"); status != http.StatusBadRequest || tk.Error != "invalid_grant" {
			t.Fatalf("wrong redirect URI: %d %+v", status, tk)
		}
		status, tk := exchange(verifier, redirect)
		if status != http.StatusOK {
			t.Fatalf("exchange: %d %+v", status, tk)
		}
		if status, again := exchange(verifier, redirect); status != http.StatusBadRequest || again.Error != "invalid_grant" {
			t.Fatalf("reused code: %d %+v", status, again)
		}
		if status, _ := e.gatewayStatus("agent-1", tk.AccessToken); status != http.StatusUnauthorized {
			t.Fatalf("token of a reused code: %d, want 401 (revoked)", status)
		}
	})

	t.Run("ReplayedRefreshRevokesFamily", func(t *testing.T) {
		tk := e.grant(id, redirect, "agent-1")
		refresh := func(rt string) (int, tokens) {
			var out tokens
			resp := e.form(oauth.TokenPath, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {id}}, &out)
			return resp.StatusCode, out
		}
		status, tk2 := refresh(tk.RefreshToken)
		if status != http.StatusOK {
			t.Fatalf("refresh: %d", status)
		}
		if status, out := refresh(tk.RefreshToken); status != http.StatusBadRequest || out.Error != "invalid_grant" {
			t.Fatalf("replayed refresh: %d %+v", status, out)
		}
		if status, _ := e.gatewayStatus("agent-1", tk2.AccessToken); status != http.StatusUnauthorized {
			t.Fatalf("the family survived a replay: %d", status)
		}
		if status, _ := refresh(tk2.RefreshToken); status != http.StatusBadRequest {
			t.Fatalf("the family's refresh token survived a replay: %d", status)
		}
	})

	t.Run("AuthorizeChecks", func(t *testing.T) {
		_, challenge := pkcePair()
		if resp := e.authorize(id, "https://evil.example/cb", challenge, e.gatewayURL("agent-1")); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("unregistered redirect URI: %d to %q, want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp := e.authorize(id, "http://127.0.0.1:9/cb", challenge, e.gatewayURL("agent-1")); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("loopback redirect not registered: %d", resp.StatusCode)
		}
		for name, c := range map[string]struct{ challenge, resource, want string }{
			"no resource":    {challenge, "", "invalid_target"},
			"other resource": {challenge, "https://elsewhere.example/v3/ai-agents/agent-builder/agents/agent-1/mcp", "invalid_target"},
			"no PKCE":        {"", e.gatewayURL("agent-1"), "invalid_request"},
		} {
			resp := e.authorize(id, redirect, c.challenge, c.resource)
			if q := e.callback(resp.Header.Get("Location"), redirect); resp.StatusCode != http.StatusFound || q.Get("error") != c.want {
				t.Fatalf("%s: %d %v, want error %s", name, resp.StatusCode, q, c.want)
			}
		}
		var oe oauthErr
		if resp := e.get(e.base+oauth.AuthorizePath+"?client_id=amc_unknown&redirect_uri="+url.QueryEscape(redirect), &oe); resp.StatusCode != http.StatusBadRequest || oe.Error != "invalid_client" {
			t.Fatalf("unknown client: %d %+v", resp.StatusCode, oe)
		}
	})

	t.Run("ConsentCSRF", func(t *testing.T) {
		_, challenge := pkcePair()
		req := e.consentRequest(e.authorize(id, redirect, challenge, e.gatewayURL("agent-1")))
		for name, c := range map[string]struct {
			key, contentType, body string
			want                   int
		}{
			// What a cross-site form can send: no header of ours, a form body.
			"cross-site form": {"", "application/x-www-form-urlencoded", "approve=true", http.StatusUnsupportedMediaType},
			"no key":          {"", "application/json", `{"approve":true}`, http.StatusUnauthorized},
			"authOnly key":    {e.AuthOnlyKey, "application/json", `{"approve":true}`, http.StatusUnauthorized},
			"revoked key":     {e.Revoked, "application/json", `{"approve":true}`, http.StatusUnauthorized},
			"other app's key": {e.KeyB, "application/json", `{"approve":true}`, http.StatusNotFound},
		} {
			if resp, _ := e.decide(req, c.key, c.contentType, c.body); resp.StatusCode != c.want {
				t.Fatalf("%s: %d, want %d", name, resp.StatusCode, c.want)
			}
		}
		var info oauth.ConsentInfo
		r, _ := http.NewRequest(http.MethodGet, e.base+oauth.ConsentPath+req, nil)
		r.Header.Set("apikey", e.KeyA)
		if resp := e.do(r, &info); resp.StatusCode != http.StatusOK || info.ClientName != "Test Client" || info.RedirectHost != "https://client.example" || info.AgentName != "Agent agent-1" {
			t.Fatalf("consent info: %d %+v", resp.StatusCode, info)
		}
		// Denied: the client hears access_denied, and the request is gone.
		resp, d := e.decide(req, e.KeyA, "application/json", `{"approve":false}`)
		if q := e.callback(d.RedirectTo, redirect); resp.StatusCode != http.StatusOK || q.Get("error") != "access_denied" || q.Get("code") != "" {
			t.Fatalf("deny: %d %q", resp.StatusCode, d.RedirectTo)
		}
		if resp, _ := e.decide(req, e.KeyA, "application/json", `{"approve":true}`); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("approve after deny: %d, want 404", resp.StatusCode)
		}
	})

	t.Run("ExpiredRegistration", func(t *testing.T) {
		unused := e.register(redirect)
		e.clock.Add(oauth.RegistrationTTL)
		_, challenge := pkcePair()
		var oe oauthErr
		q := url.Values{"response_type": {"code"}, "client_id": {unused}, "redirect_uri": {redirect}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "resource": {e.gatewayURL("agent-1")}}
		if resp := e.get(e.base+oauth.AuthorizePath+"?"+q.Encode(), &oe); resp.StatusCode != http.StatusBadRequest || oe.Error != "invalid_client" {
			t.Fatalf("expired registration: %d %+v", resp.StatusCode, oe)
		}
		// A used registration does not expire.
		e.grant(id, redirect, "agent-1")
	})

	t.Run("BadRegistrations", func(t *testing.T) {
		for name, body := range map[string]string{
			"no redirect":       `{"client_name":"x"}`,
			"http not loopback": `{"redirect_uris":["http://client.example/cb"]}`,
			"javascript":        `{"redirect_uris":["javascript:alert(1)"]}`,
			"fragment":          `{"redirect_uris":["https://client.example/cb#x"]}`,
			"implicit":          `{"redirect_uris":["https://client.example/cb"],"response_types":["token"]}`,
			"not JSON":          `redirect_uris=x`,
		} {
			req, _ := http.NewRequest(http.MethodPost, e.base+oauth.RegisterPath, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			var oe oauthErr
			if resp := e.do(req, &oe); resp.StatusCode != http.StatusBadRequest || oe.Error != "invalid_client_metadata" {
				t.Fatalf("%s: %d %+v", name, resp.StatusCode, oe)
			}
		}
	})

	t.Run("PrivateClientMetadataDocument", func(t *testing.T) {
		doc := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Errorf("a client ID metadata document on a loopback address was fetched")
		}))
		defer doc.Close()
		_, challenge := pkcePair()
		q := url.Values{"response_type": {"code"}, "client_id": {doc.URL + "/client.json"}, "redirect_uri": {redirect}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "resource": {e.gatewayURL("agent-1")}}
		var oe oauthErr
		if resp := e.get(e.base+oauth.AuthorizePath+"?"+q.Encode(), &oe); resp.StatusCode != http.StatusBadRequest || oe.Error != "invalid_client" || !strings.Contains(oe.Description, "public address") {
			t.Fatalf("client_id on a private address: %d %+v", resp.StatusCode, oe)
		}
	})
}

// TestOAuthClientMetadataDocument: a client whose client_id is the URL of its metadata
// document (served here on loopback, allowed by a test-only fetcher) gets tokens without
// registering.
func TestOAuthClientMetadataDocument(t *testing.T) {
	var docURL string
	const redirect = "http://127.0.0.1:7777/cb"
	var fetched atomic.Int32
	doc := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"client_id": docURL, "client_name": "Doc Client", "redirect_uris": []string{redirect}})
	}))
	defer doc.Close()
	docURL = doc.URL + "/oauth/client.json"
	e := newOAuthEnv(t, apitest.OpenSQLite(t), func(cfg *server.Config) { cfg.OAuth.ClientFetcher = doc.Client() })
	tk := e.grant(docURL, redirect, "agent-1")
	if status, _ := e.gatewayStatus("agent-1", tk.AccessToken); status != http.StatusOK {
		t.Fatalf("gateway with a metadata-document client's token: %d", status)
	}
	e.grant(docURL, redirect, "agent-1")
	if fetched.Load() != 1 {
		t.Fatalf("the document was fetched %d times, want 1 (cached)", fetched.Load())
	}
}

// TestOAuthRegistrationRateLimit: dynamic registrations are bounded per client address:
// past the burst, 429 with Retry-After.
func TestOAuthRegistrationRateLimit(t *testing.T) {
	e := newOAuthEnv(t, apitest.OpenSQLite(t), func(cfg *server.Config) { cfg.OAuthRegisterRate = 1.0 / 3600 })
	for range 10 {
		e.register("https://client.example/cb")
	}
	req, _ := http.NewRequest(http.MethodPost, e.base+oauth.RegisterPath, strings.NewReader(`{"redirect_uris":["https://client.example/cb"]}`))
	req.Header.Set("Content-Type", "application/json")
	if resp := e.do(req, nil); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("registration past the burst: %d (Retry-After %q), want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
