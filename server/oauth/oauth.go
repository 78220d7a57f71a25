// Package oauth is the authorization server of the agents' gateways (MCP authorization,
// 2025-11-25): each gateway is an OAuth 2.1 protected resource (RFC 9728 metadata), and
// agentmcp issues its tokens — metadata (RFC 8414), client registration (RFC 7591 and
// client ID metadata documents), authorization code with PKCE S256 and the person's
// consent in the console, rotating refresh tokens, revocation (RFC 7009). An access token
// is an agent key of one agent in all but lifetime: Verify turns it into one.
package oauth

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/agentmcp/agentmcp/store"
)

// Lifetimes (docs/decisions.md, "OAuth for the gateway's clients").
const (
	AccessTTL       = time.Hour
	RefreshTTL      = 30 * 24 * time.Hour
	CodeTTL         = time.Minute
	ConsentTTL      = 10 * time.Minute
	RegistrationTTL = 24 * time.Hour // a registration no grant ever used
)

// Scope is the one scope: the use of one agent's gateway.
const Scope = "gateway"

// Token prefixes: a leaked token is easy to recognise, and the gateway tells an OAuth
// access token from an API key without a lookup.
const (
	AccessPrefix  = "amo_"
	RefreshPrefix = "amr_"
)

// Paths served (Paths lists them for the router).
const (
	ResourceMetadataPrefix = "/.well-known/oauth-protected-resource"
	ASMetadataPath         = "/.well-known/oauth-authorization-server"
	OIDCMetadataPath       = "/.well-known/openid-configuration"
	AuthorizePath          = "/oauth/authorize"
	TokenPath              = "/oauth/token"
	RegisterPath           = "/oauth/register"
	RevokePath             = "/oauth/revoke"
	ConsentPath            = "/oauth/consent/" // + request id: the console's consent page calls it
)

// Agents finds an agent of an app (store.Store does).
type Agents interface {
	GetAgent(ctx context.Context, appID, uid string) (store.Agent, error)
}

// Keys finds the API key of a secret (auth.APIKeys does).
type Keys interface {
	Lookup(ctx context.Context, secret string) (store.APIKey, error)
}

// Options configure New. Store, Agents and Keys are required.
type Options struct {
	Store  store.OAuthStore
	Agents Agents
	Keys   Keys
	// PublicURL is agentmcp's base URL (the issuer); default: each request's host.
	PublicURL string
	// GatewayPrefix and GatewaySuffix surround an agent's uid in its gateway's path
	// (default /v3/ai-agents/agent-builder/agents/ and /mcp).
	GatewayPrefix, GatewaySuffix string
	// ClientFetcher fetches client ID metadata documents (default: public addresses only,
	// 5 s, 64 KiB; see probe).
	ClientFetcher *http.Client
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Outage, when set, lets access tokens verified before answer while the store is
	// unreachable, within its bound (Verify).
	Outage Outage
}

// Server serves the authorization server's endpoints; it is an http.Handler.
type Server struct {
	o   Options
	mux *http.ServeMux

	mu     sync.Mutex
	docs   map[string]cachedDoc // client ID metadata documents by URL
	purged time.Time
	known  *known
}

// New returns the authorization server.
func New(o Options) *Server {
	o.GatewayPrefix = cmp.Or(o.GatewayPrefix, "/v3/ai-agents/agent-builder/agents/")
	o.GatewaySuffix = cmp.Or(o.GatewaySuffix, "/mcp")
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ClientFetcher == nil {
		o.ClientFetcher = defaultFetcher()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o, mux: http.NewServeMux(), docs: map[string]cachedDoc{}, known: newKnown()}
	s.mux.HandleFunc("GET "+ResourceMetadataPrefix+"/", s.resourceMetadata)
	s.mux.HandleFunc("GET "+ASMetadataPath, s.serverMetadata)
	s.mux.HandleFunc("GET "+OIDCMetadataPath, s.serverMetadata)
	s.mux.HandleFunc("POST "+RegisterPath, s.register)
	s.mux.HandleFunc("GET "+AuthorizePath, s.authorize)
	s.mux.HandleFunc("POST "+TokenPath, s.token)
	s.mux.HandleFunc("POST "+RevokePath, s.revoke)
	s.mux.HandleFunc("GET "+ConsentPath+"{id}", s.consentInfo)
	s.mux.HandleFunc("POST "+ConsentPath+"{id}", s.consentDecide)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

// Issuer is agentmcp's base URL, as the metadata and the iss parameter name it.
func (s *Server) Issuer(r *http.Request) string {
	if s.o.PublicURL != "" {
		return strings.TrimRight(s.o.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// Resource is the resource identifier of an agent's gateway: its URL.
func (s *Server) Resource(r *http.Request, uid string) string {
	return s.Issuer(r) + s.o.GatewayPrefix + uid + s.o.GatewaySuffix
}

// ResourceMetadataURL is where the metadata of an agent's gateway is (RFC 9728 §3.1: the
// well-known prefix before the resource's path), for the gateway's WWW-Authenticate.
func (s *Server) ResourceMetadataURL(r *http.Request, uid string) string {
	return s.Issuer(r) + ResourceMetadataPrefix + s.o.GatewayPrefix + uid + s.o.GatewaySuffix
}

// agentOf returns the uid of a gateway path ("" if it is none).
func (s *Server) agentOf(path string) string {
	uid, ok := strings.CutPrefix(path, s.o.GatewayPrefix)
	uid, ok2 := strings.CutSuffix(uid, s.o.GatewaySuffix)
	if !ok || !ok2 || uid == "" || len(uid) > 200 || strings.Contains(uid, "/") {
		return ""
	}
	return uid
}

func (s *Server) resourceMetadata(w http.ResponseWriter, r *http.Request) {
	uid := s.agentOf(strings.TrimPrefix(r.URL.Path, ResourceMetadataPrefix))
	if uid == "" {
		writeError(w, http.StatusNotFound, "not_found", "No protected resource at this path.")
		return
	}
	writeJSON(w, http.StatusOK, &oauthex.ProtectedResourceMetadata{
		Resource:               s.Resource(r, uid),
		AuthorizationServers:   []string{s.Issuer(r)},
		ScopesSupported:        []string{Scope},
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "agentmcp agent " + uid,
	})
}

func (s *Server) serverMetadata(w http.ResponseWriter, r *http.Request) {
	iss := s.Issuer(r)
	writeJSON(w, http.StatusOK, &oauthex.AuthServerMeta{
		Issuer:                                     iss,
		AuthorizationEndpoint:                      iss + AuthorizePath,
		TokenEndpoint:                              iss + TokenPath,
		RegistrationEndpoint:                       iss + RegisterPath,
		RevocationEndpoint:                         iss + RevokePath,
		ScopesSupported:                            []string{Scope},
		ResponseTypesSupported:                     []string{"code"},
		GrantTypesSupported:                        []string{"authorization_code", "refresh_token"},
		TokenEndpointAuthMethodsSupported:          []string{"none"},
		RevocationEndpointAuthMethodsSupported:     []string{"none"},
		CodeChallengeMethodsSupported:              []string{"S256"},
		ClientIDMetadataDocumentSupported:          true,
		AuthorizationResponseIssParameterSupported: true,
	})
}

// oauthError is an OAuth error response (RFC 6749 §5.2).
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, oauthError{Error: code, Description: desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// secret returns a new random secret with prefix (256 bits).
func secret(prefix string) string {
	var b [32]byte
	rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// ms is t in epoch milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// errInvalidToken: a token that is unknown, expired, revoked or for another gateway.
var ErrInvalidToken = errors.New("invalid token")
