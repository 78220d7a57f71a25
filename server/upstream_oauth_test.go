package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/gateway"
	"github.com/agentmcp/agentmcp/server/httpx"
)

// testAS is a small OAuth 2.1 authorization server: metadata (RFC 8414, with RFC 9207's
// iss), registration, an authorize endpoint that approves at once, and a token endpoint
// with PKCE and rotating refresh tokens (a spent one is invalid_grant).
type testAS struct {
	URL string

	mu        sync.Mutex
	n         int
	codes     map[string]string // code → PKCE challenge
	scopeOf   map[string]string // code, access or refresh token → the scope granted
	access    map[string]bool   // valid access tokens
	refresh   map[string]bool   // valid refresh tokens
	refreshes int
	tokenHits int
	issued    []string // every token, for the leak check
	expiresIn int
	// beforeRefresh, when set, runs (without the lock) before a refresh is answered.
	beforeRefresh func()
	// needs, when set, is a scope the MCP server wants besides "tools": a token without
	// it gets 403 insufficient_scope (step-up); forbidden counts those answers.
	needs     string
	forbidden int
	rejected  int // access tokens the MCP server refused (401)
}

func newTestAS(t *testing.T) *testAS {
	a := &testAS{codes: map[string]string{}, scopeOf: map[string]string{}, access: map[string]bool{}, refresh: map[string]bool{}, expiresIn: 3600}
	mux := http.NewServeMux()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": a.URL, "authorization_endpoint": a.URL + "/authorize", "token_endpoint": a.URL + "/token",
			"registration_endpoint": a.URL + "/register", "response_types_supported": []string{"code"},
			"code_challenge_methods_supported": []string{"S256"}, "token_endpoint_auth_methods_supported": []string{"client_secret_basic"},
			"authorization_response_iss_parameter_supported": true,
		})
	})
	mux.HandleFunc("POST /register", func(w http.ResponseWriter, r *http.Request) {
		var m oauthex.ClientRegistrationMetadata
		json.NewDecoder(r.Body).Decode(&m)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"client_id": "client-1", "client_secret": "client-secret-XYZZY", "token_endpoint_auth_method": "client_secret_basic", "redirect_uris": m.RedirectURIs})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("resource") == "" || q.Get("state") == "" || q.Get("client_id") != "client-1" {
			http.Error(w, "bad request: "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.n++
		code := fmt.Sprintf("code-%d", a.n)
		a.codes[code] = q.Get("code_challenge")
		a.scopeOf[code] = q.Get("scope")
		a.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}, "iss": {a.URL}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		a.mu.Lock()
		before := a.beforeRefresh
		a.mu.Unlock()
		if before != nil && r.Form.Get("grant_type") == "refresh_token" {
			before()
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.tokenHits++
		id, secret, _ := r.BasicAuth()
		if id != "client-1" || secret != "client-secret-XYZZY" {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
			return
		}
		var scope string
		switch r.Form.Get("grant_type") {
		case "authorization_code":
			scope = a.scopeOf[r.Form.Get("code")]
			ch, ok := a.codes[r.Form.Get("code")]
			delete(a.codes, r.Form.Get("code"))
			sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
			if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != ch {
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
				return
			}
		case "refresh_token":
			if !a.refresh[r.Form.Get("refresh_token")] {
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
				return
			}
			delete(a.refresh, r.Form.Get("refresh_token")) // rotation: spent
			scope = a.scopeOf[r.Form.Get("refresh_token")]
			a.refreshes++
		default:
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "unsupported_grant_type"})
			return
		}
		a.n++
		at, rt := fmt.Sprintf("AT-SECRET-%d-QQ", a.n), fmt.Sprintf("RT-SECRET-%d-QQ", a.n)
		a.access[at], a.refresh[rt] = true, true
		a.scopeOf[at], a.scopeOf[rt] = scope, scope
		a.issued = append(a.issued, at, rt)
		json.NewEncoder(w).Encode(map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": a.expiresIn, "refresh_token": rt, "scope": scope})
	})
	return a
}

// revokeAccess makes every access token invalid (as if they expired at the server).
func (a *testAS) revokeAccess() {
	a.mu.Lock()
	clear(a.access)
	a.mu.Unlock()
}

// revokeAll makes every token invalid.
func (a *testAS) revokeAll() {
	a.mu.Lock()
	clear(a.access)
	clear(a.refresh)
	a.mu.Unlock()
}

func (a *testAS) counts() (refreshes, tokenHits int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refreshes, a.tokenHits
}

func (a *testAS) secrets() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string{"client-secret-XYZZY"}, a.issued...)
}

// protectedMCP is a go-sdk MCP server behind the go-sdk's bearer middleware, whose
// tokens are as's, with its protected resource metadata.
func protectedMCP(t *testing.T, as *testAS) string {
	s := mcp.NewServer(&mcp.Implementation{Name: "protected", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "whoami"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "protected-ok"}}}, nil, nil
	})
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	verify := func(ctx context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		as.mu.Lock()
		ok := as.access[token]
		if !ok {
			as.rejected++
		}
		as.mu.Unlock()
		if !ok {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{Scopes: []string{"tools"}, Expiration: time.Now().Add(time.Hour)}, nil
	}
	prm := srv.URL + "/.well-known/oauth-protected-resource/mcp"
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
	stepUp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		as.mu.Lock()
		needs, granted := as.needs, strings.Fields(as.scopeOf[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")])
		lacks := needs != "" && !slices.Contains(granted, needs)
		if lacks {
			as.forbidden++
		}
		as.mu.Unlock()
		if lacks {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope="tools %s", resource_metadata=%q`, needs, prm))
			http.Error(w, "insufficient scope", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
	mux.Handle("/mcp", auth.RequireBearerToken(verify, &auth.RequireBearerTokenOptions{ResourceMetadataURL: prm})(stepUp))
	mux.Handle("/.well-known/oauth-protected-resource/mcp", auth.ProtectedResourceMetadataHandler(&oauthex.ProtectedResourceMetadata{
		Resource: srv.URL + "/mcp", AuthorizationServers: []string{as.URL}, ScopesSupported: []string{"tools"},
	}))
	return srv.URL + "/mcp"
}

// publicBase is the public URL the tests give agentmcp; follow maps it to the test server.
const publicBase = "http://agentmcp.test"

// follow opens an authorization URL as a browser would, up to agentmcp's callback, and
// returns the callback's status and page.
func follow(t *testing.T, env *apitest.Env, authURL string) (int, string) {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, publicBase+"/oauth/callback?") {
		t.Fatalf("the authorization server answered %d to %s, Location %q", resp.StatusCode, authURL, loc)
	}
	return callback(t, env, env.Server.URL+strings.TrimPrefix(loc, publicBase))
}

func callback(t *testing.T, env *apitest.Env, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// callTool calls whoami through the agent's gateway.
func callTool(t *testing.T, gatewayURL, key string) (string, error) {
	t.Helper()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(context.Background(),
		&mcp.StreamableClientTransport{Endpoint: gatewayURL, HTTPClient: &http.Client{Transport: bearer{key}}}, nil)
	if err != nil {
		return "", err
	}
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "whoami"})
	if err != nil {
		return "", err
	}
	var text string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text += tc.Text
		}
	}
	if res.IsError {
		return "", fmt.Errorf("tool error: %s", text)
	}
	return text, nil
}

type bearer struct{ key string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

// TestUpstreamOAuth: a server that takes OAuth is connected once by a person (discovery
// from its 401, registration, PKCE, the callback), then probes and the gateway send its
// token; a token the server stops taking is refreshed once (rotating), by one of two
// replicas; a revoked refresh token shows auth_required with the reason; a callback is
// used once, with its own state and issuer; and no token or client secret appears in any
// response, log line, metric or the database file.
func TestUpstreamOAuth(t *testing.T) {
	as := newTestAS(t)
	mcpURL := protectedMCP(t, as)
	st := apitest.OpenSQLite(t)
	creds := apitest.Credentials(t, st)
	logs := &apitest.SyncBuffer{}
	loopback := probe.New(probe.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	cfg := app.Config{Credentials: creds, Prober: loopback, Probe: probe.Options{AllowPrivate: true}, PublicURL: publicBase, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Gateway: gateway.Options{Connector: loopback, CallTimeout: 30 * time.Second}}
	env := apitest.Start(t, st, cfg)
	c := env.Client(t, env.KeyA)
	ctx := context.Background()

	grant := gen.McpServerAuthInputGrantAuthorizationCode
	oauthAuth := client.AuthInput{Type: gen.McpServerAuthInputTypeOauth, Grant: &grant}
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "Protected", Slug: "protected", Url: mcpURL, Auth: &oauthAuth}); err != nil {
		t.Fatal(err)
	}
	m, err := c.GetServer(ctx, "protected")
	if err != nil || m.Auth == nil || m.Auth.Connected == nil || *m.Auth.Connected || string(*m.Auth.Grant) != "authorization_code" {
		t.Fatalf("a server never connected: %+v, %v", m.Auth, err)
	}
	if r, err := c.ProbeServer(ctx, "protected"); err != nil || r.Status != "auth_required" {
		t.Fatalf("probe before connecting: %+v, %v", r, err)
	}

	authURL, err := c.AuthorizeServer(ctx, "protected")
	if err != nil {
		t.Fatal(err)
	}
	q := mustQuery(t, authURL)
	if q.Get("resource") != mcpURL || q.Get("code_challenge_method") != "S256" || q.Get("scope") != "tools" || q.Get("redirect_uri") != publicBase+"/oauth/callback" {
		t.Fatalf("authorization URL %s", authURL)
	}
	status, body := follow(t, env, authURL)
	if status != http.StatusOK || !strings.Contains(body, `data-connected="true"`) {
		t.Fatalf("callback: %d %s", status, body)
	}
	m, err = c.GetServer(ctx, "protected")
	if err != nil || !*m.Auth.Connected || m.Auth.ExpiresAt == nil || len(m.Auth.Scopes) != 1 {
		t.Fatalf("after the callback: %+v, %v", m.Auth, err)
	}
	if r, err := c.ProbeServer(ctx, "protected"); err != nil || r.Status != "ok" || r.ToolCount != 1 {
		t.Fatalf("probe once connected: %+v, %v", r, err)
	}

	uid := "oauth-agent"
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "OAuth", Uid: &uid, McpServers: &[]string{"protected"}}); err != nil {
		t.Fatal(err)
	}
	original := client.ToolNamesOriginal
	if _, err := c.UpdateAgent(ctx, uid, client.UpdateAgent{Gateway: &client.AgentGatewayInput{ToolNames: &original}}); err != nil {
		t.Fatal(err)
	}
	gw := env.URL + "/ai-agents/agent-builder/agents/" + uid + "/mcp"
	if out, err := callTool(t, gw, env.KeyA); err != nil || out != "protected-ok" {
		t.Fatalf("a call through the gateway: %q, %v", out, err)
	}

	t.Run("RefreshOnceOn401ByOneOfTwoReplicas", func(t *testing.T) {
		// Replica B: the same store and keyring, its own process state.
		b := apitest.New(t, st, cfg)
		bsrv := httptest.NewServer(b.Handler())
		t.Cleanup(bsrv.Close)
		gwB := bsrv.URL + strings.TrimPrefix(gw, env.Server.URL)
		before, _ := as.counts()
		as.revokeAccess()
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for _, u := range []string{gw, gwB, gw, gwB} {
			wg.Go(func() {
				if out, err := callTool(t, u, env.KeyA); err != nil || out != "protected-ok" {
					errs <- fmt.Errorf("%s: %q, %v", u, out, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if after, _ := as.counts(); after != before+1 {
			t.Fatalf("%d refreshes for one refused token across two replicas, want 1", after-before)
		}
	})

	t.Run("CallbackReplayWrongStateWrongIssuer", func(t *testing.T) {
		u, err := c.AuthorizeServer(ctx, "protected")
		if err != nil {
			t.Fatal(err)
		}
		cb := env.Server.URL + strings.TrimPrefix(mustRedirect(t, u), publicBase)
		_, hits := as.counts()
		bad := strings.Replace(cb, "iss="+url.QueryEscape(as.URL), "iss="+url.QueryEscape("https://evil.example"), 1)
		if status, body := callback(t, env, bad); status != http.StatusBadRequest || !strings.Contains(body, "issuer") {
			t.Fatalf("a callback with another issuer: %d %s", status, body)
		}
		if status, _ := callback(t, env, cb); status != http.StatusBadRequest {
			t.Fatalf("a callback whose state a refused one used: %d", status)
		}
		if status, body := callback(t, env, env.Server.URL+"/oauth/callback?state=nope&code=x"); status != http.StatusBadRequest || !strings.Contains(body, "unknown") {
			t.Fatalf("a callback with an unknown state: %d %s", status, body)
		}
		if _, after := as.counts(); after != hits {
			t.Fatalf("refused callbacks reached the token endpoint (%d requests)", after-hits)
		}
		u, _ = c.AuthorizeServer(ctx, "protected")
		cb = env.Server.URL + strings.TrimPrefix(mustRedirect(t, u), publicBase)
		if status, _ := callback(t, env, cb); status != http.StatusOK {
			t.Fatalf("a good callback: %d", status)
		}
		if status, _ := callback(t, env, cb); status != http.StatusBadRequest {
			t.Fatalf("the same callback again: %d", status)
		}
	})

	t.Run("StepUpAskedOnceThenGranted", func(t *testing.T) {
		// The server wants a scope the token lacks: the call fails without a retry or a
		// refresh, health and the record name the scope, and the next authorize asks for it.
		as.mu.Lock()
		as.needs = "admin"
		as.mu.Unlock()
		defer func() { as.mu.Lock(); as.needs = ""; as.mu.Unlock() }()
		forbidden := func() int { as.mu.Lock(); defer as.mu.Unlock(); return as.forbidden }
		_, hits := as.counts()
		before := forbidden()
		if _, err := callTool(t, gw, env.KeyA); err == nil {
			t.Fatal("a call without the scope the server wants succeeded")
		}
		if n := forbidden() - before; n < 1 || n > 2 {
			t.Fatalf("%d requests answered insufficient_scope for one call: a loop, or none", n)
		}
		if _, after := as.counts(); after != hits {
			t.Fatalf("a step-up answer reached the token endpoint %d times", after-hits)
		}
		m, err := c.GetServer(ctx, "protected")
		if err != nil || !slices.Contains(m.Auth.StepUpScopes, "admin") {
			t.Fatalf("the record after a step-up answer: %+v, %v", m.Auth, err)
		}
		r, err := c.ProbeServer(ctx, "protected")
		if err != nil || r.Status != "auth_required" || !strings.Contains(r.Error, "admin") {
			t.Fatalf("health after a step-up answer: %+v, %v", r, err)
		}
		u, err := c.AuthorizeServer(ctx, "protected")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Fields(mustQuery(t, u).Get("scope")); !slices.Contains(got, "admin") || !slices.Contains(got, "tools") {
			t.Fatalf("the next authorization asks for %q, want the granted and the missing scopes", got)
		}
		if status, _ := follow(t, env, u); status != http.StatusOK {
			t.Fatalf("callback: %d", status)
		}
		if out, err := callTool(t, gw, env.KeyA); err != nil || out != "protected-ok" {
			t.Fatalf("a call once the scope is granted: %q, %v", out, err)
		}
		m, err = c.GetServer(ctx, "protected")
		if err != nil || len(m.Auth.StepUpScopes) > 0 || !slices.Contains(m.Auth.Scopes, "admin") {
			t.Fatalf("the record once the scope is granted: %+v, %v", m.Auth, err)
		}
	})

	t.Run("RefreshBeforeExpiry", func(t *testing.T) {
		// Tokens that expire within the renewal margin are renewed before use, with no 401.
		as.mu.Lock()
		as.expiresIn = 1
		as.mu.Unlock()
		defer func() { as.mu.Lock(); as.expiresIn = 3600; as.mu.Unlock() }()
		u, err := c.AuthorizeServer(ctx, "protected")
		if err != nil {
			t.Fatal(err)
		}
		if status, _ := follow(t, env, u); status != http.StatusOK {
			t.Fatalf("callback: %d", status)
		}
		before, _ := as.counts()
		if out, err := callTool(t, gw, env.KeyA); err != nil || out != "protected-ok" {
			t.Fatalf("a call with a token about to expire: %q, %v", out, err)
		}
		if after, _ := as.counts(); after == before {
			t.Fatal("a token about to expire was used without renewal")
		}
	})

	t.Run("RevokedRefreshToken", func(t *testing.T) {
		as.revokeAll()
		if _, err := callTool(t, gw, env.KeyA); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("a call once every token is revoked: %v", err)
		}
		m, err := c.GetServer(ctx, "protected")
		if err != nil || *m.Auth.Connected || m.Auth.Problem == nil || !strings.Contains(*m.Auth.Problem, "invalid_grant") {
			t.Fatalf("after a failed refresh: %+v, %v", m.Auth, err)
		}
		r, err := c.ProbeServer(ctx, "protected")
		if err != nil || r.Status != "auth_required" || !strings.Contains(r.Error, "invalid_grant") {
			t.Fatalf("probe after a failed refresh: %+v, %v", r, err)
		}
		if _, err := c.AuthorizeServer(ctx, "protected"); err != nil { // Reconnect
			t.Fatal(err)
		}
	})

	t.Run("ChangingAuthForgetsTokens", func(t *testing.T) {
		u, err := c.AuthorizeServer(ctx, "protected")
		if err != nil {
			t.Fatal(err)
		}
		if status, _ := follow(t, env, u); status != http.StatusOK {
			t.Fatalf("callback: %d", status)
		}
		if m, err := c.GetServer(ctx, "protected"); err != nil || !*m.Auth.Connected {
			t.Fatalf("reconnected: %+v, %v", m.Auth, err)
		}
		m, err := c.UpdateServer(ctx, "protected", client.UpdateMCPServer{Auth: &oauthAuth})
		if err != nil || *m.Auth.Connected {
			t.Fatalf("after new credentials: %+v, %v", m.Auth, err)
		}
	})

	t.Run("NoSecretAnywhere", func(t *testing.T) {
		var seen strings.Builder
		for _, path := range []string{"/ai-agents/agent-builder/mcp-servers/protected", "/ai-agents/agent-builder/mcp-servers", "/ai-agents/agent-builder/audit-events",
			"/ai-agents/agent-builder/mcp-servers/protected/probe"} {
			_, b := env.Raw(t, http.MethodGet, path, env.KeyA, "", nil)
			seen.Write(b)
		}
		resp, err := http.Get(env.Server.URL + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			seen.Write(b)
		}
		seen.WriteString(logs.String())
		for _, f := range []string{"agentmcp.db", "agentmcp.db-wal"} {
			b, _ := os.ReadFile(filepath.Join(filepath.Dir(st.Path()), f))
			seen.Write(b)
		}
		for _, s := range as.secrets() {
			if strings.Contains(seen.String(), s) {
				t.Errorf("%s shows in a response, log line, metric or the database file", s)
			}
		}
	})
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query()
}

// mustRedirect opens an authorization URL and returns where it sends the browser.
func mustRedirect(t *testing.T, authURL string) string {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Location")
}

// contractUpstreamOAuth covers POST …/oauth/authorize's answers of its own (200, 400, 404,
// 409, 502) on an agentmcp with a keyring, recording into env's recorder.
func contractUpstreamOAuth(t *testing.T, env *apitest.Env) {
	t.Helper()
	ctx := context.Background()
	st := apitest.OpenSQLite(t)
	e := apitest.Start(t, st, app.Config{Credentials: apitest.Credentials(t, st), Probe: probe.Options{AllowPrivate: true}, PublicURL: publicBase})
	e.Doer, e.Rec = env.Doer, env.Rec
	c := e.Gen(t, e.KeyA)
	grant := gen.McpServerAuthInputGrantAuthorizationCode
	oauthAuth := &gen.McpServerAuthInput{Type: gen.McpServerAuthInputTypeOauth, Grant: &grant}
	for slug, u := range map[string]string{"protected": protectedMCP(t, newTestAS(t)), "no-as": apitest.MCPServer(t, 1)} {
		if r, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{Name: slug, Slug: slug, Url: u, Auth: oauthAuth}); r.StatusCode() != http.StatusCreated {
			t.Fatalf("create %s: %d %s", slug, r.StatusCode(), r.Body)
		}
	}
	if r, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{Name: "plain", Slug: "plain", Url: "https://plain.example.com/mcp"}); r.StatusCode() != http.StatusCreated {
		t.Fatalf("create plain: %d %s", r.StatusCode(), r.Body)
	}
	ok, _ := c.McpServersControllerAuthorizeOAuthWithResponse(ctx, "protected")
	if ok.StatusCode() != http.StatusOK || !strings.Contains(ok.JSON200.AuthorizationUrl, "code_challenge=") {
		t.Fatalf("authorize: %d %s", ok.StatusCode(), ok.Body)
	}
	for slug, want := range map[string]struct {
		status int
		code   string
	}{
		"plain": {http.StatusConflict, httpx.CodeNotOAuth},
		"no-as": {http.StatusBadGateway, httpx.CodeOAuthUpstream},
		"nope":  {http.StatusNotFound, httpx.CodeMCPServerNotFound},
		"BAD":   {http.StatusBadRequest, httpx.CodeValidation},
	} {
		r, _ := c.McpServersControllerAuthorizeOAuthWithResponse(ctx, slug)
		wantError(t, r.StatusCode(), r.Body, want.status, want.code)
	}
}
