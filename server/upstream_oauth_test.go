package server_test

import (
	"context"
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

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/gateway"
	"github.com/agentmcp/agentmcp/server/httpx"
)

// publicBase is the public URL the tests give agentmcp; follow maps it to the test server.
const publicBase = "http://agentmcp.test"

// follow opens an authorization URL as a browser would, up to agentmcp's callback, and
// returns the callback's status and page.
func follow(t *testing.T, env *apitest.Env, authURL string) (int, string) {
	t.Helper()
	loc := apitest.Approve(t, authURL).String()
	if !strings.HasPrefix(loc, publicBase+"/oauth/callback?") {
		t.Fatalf("the authorization server sent the browser to %q", loc)
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
	as := apitest.NewOAuthServer(t)
	mcpURL := as.ProtectedMCP(t)
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
		before, _ := as.Counts()
		as.RevokeAccess()
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
		if after, _ := as.Counts(); after != before+1 {
			t.Fatalf("%d refreshes for one refused token across two replicas, want 1", after-before)
		}
	})

	t.Run("CallbackReplayWrongStateWrongIssuer", func(t *testing.T) {
		u, err := c.AuthorizeServer(ctx, "protected")
		if err != nil {
			t.Fatal(err)
		}
		cb := env.Server.URL + strings.TrimPrefix(apitest.Approve(t, u).String(), publicBase)
		_, hits := as.Counts()
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
		if _, after := as.Counts(); after != hits {
			t.Fatalf("refused callbacks reached the token endpoint (%d requests)", after-hits)
		}
		u, _ = c.AuthorizeServer(ctx, "protected")
		cb = env.Server.URL + strings.TrimPrefix(apitest.Approve(t, u).String(), publicBase)
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
		as.SetNeeds("admin")
		defer as.SetNeeds("")
		forbidden := as.Forbidden
		_, hits := as.Counts()
		before := forbidden()
		if _, err := callTool(t, gw, env.KeyA); err == nil {
			t.Fatal("a call without the scope the server wants succeeded")
		}
		if n := forbidden() - before; n < 1 || n > 2 {
			t.Fatalf("%d requests answered insufficient_scope for one call: a loop, or none", n)
		}
		if _, after := as.Counts(); after != hits {
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
		as.SetExpiresIn(1)
		defer as.SetExpiresIn(3600)
		u, err := c.AuthorizeServer(ctx, "protected")
		if err != nil {
			t.Fatal(err)
		}
		if status, _ := follow(t, env, u); status != http.StatusOK {
			t.Fatalf("callback: %d", status)
		}
		before, _ := as.Counts()
		if out, err := callTool(t, gw, env.KeyA); err != nil || out != "protected-ok" {
			t.Fatalf("a call with a token about to expire: %q, %v", out, err)
		}
		if after, _ := as.Counts(); after == before {
			t.Fatal("a token about to expire was used without renewal")
		}
	})

	t.Run("RevokedRefreshToken", func(t *testing.T) {
		as.RevokeAll()
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
		for _, s := range as.Secrets() {
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
	for slug, u := range map[string]string{"protected": apitest.NewOAuthServer(t).ProtectedMCP(t), "no-as": apitest.MCPServer(t, 1)} {
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
