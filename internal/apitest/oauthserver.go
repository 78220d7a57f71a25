package apitest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// OAuthServer is a small OAuth 2.1 authorization server: metadata (RFC 8414, with RFC 9207's
// iss), registration, an authorize endpoint that approves at once, and a token endpoint
// with PKCE and rotating refresh tokens (a spent one is invalid_grant).
type OAuthServer struct {
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

func NewOAuthServer(t testing.TB) *OAuthServer {
	a := &OAuthServer{codes: map[string]string{}, scopeOf: map[string]string{}, access: map[string]bool{}, refresh: map[string]bool{}, expiresIn: 3600}
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

// RevokeAccess makes every access token invalid (as if they expired at the server).
func (a *OAuthServer) RevokeAccess() {
	a.mu.Lock()
	clear(a.access)
	a.mu.Unlock()
}

// RevokeAll makes every token invalid.
func (a *OAuthServer) RevokeAll() {
	a.mu.Lock()
	clear(a.access)
	clear(a.refresh)
	a.mu.Unlock()
}

func (a *OAuthServer) Counts() (refreshes, tokenHits int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refreshes, a.tokenHits
}

func (a *OAuthServer) Secrets() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string{"client-secret-XYZZY"}, a.issued...)
}

// ProtectedMCP starts a go-sdk MCP server behind the go-sdk's bearer middleware, whose
// tokens are as's, with its protected resource metadata.
func (as *OAuthServer) ProtectedMCP(t testing.TB) string {
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

// SetExpiresIn sets the lifetime of the tokens issued next, in seconds.
func (a *OAuthServer) SetExpiresIn(s int) { a.mu.Lock(); a.expiresIn = s; a.mu.Unlock() }

// SetNeeds makes the MCP server want scope besides "tools" ("": none).
func (a *OAuthServer) SetNeeds(scope string) { a.mu.Lock(); a.needs = scope; a.mu.Unlock() }

// SetBeforeRefresh runs f (without the lock) before each refresh is answered (nil: none).
func (a *OAuthServer) SetBeforeRefresh(f func()) { a.mu.Lock(); a.beforeRefresh = f; a.mu.Unlock() }

// Forbidden counts the MCP server's 403 insufficient_scope answers.
func (a *OAuthServer) Forbidden() int { a.mu.Lock(); defer a.mu.Unlock(); return a.forbidden }

// Rejected counts the access tokens the MCP server refused (401).
func (a *OAuthServer) Rejected() int { a.mu.Lock(); defer a.mu.Unlock(); return a.rejected }

// Approve opens an authorization URL as a browser would, at the authorization server (the
// OAuthServer approves at once), and returns where it sends the browser back: agentmcp's
// callback with the code, state and issuer.
func Approve(t testing.TB, authURL string) *url.URL {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || loc.Path != "/oauth/callback" {
		t.Fatalf("the authorization server answered %d to %s, Location %q", resp.StatusCode, authURL, resp.Header.Get("Location"))
	}
	return loc
}
