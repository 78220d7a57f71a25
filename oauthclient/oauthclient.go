// Package oauthclient connects agentmcp to MCP servers that take OAuth 2.1 (the MCP
// authorization spec): it discovers the server's authorization server (RFC 9728, RFC 8414
// and OpenID discovery, with the 2025-03-26 fallbacks), registers agentmcp as a client
// (a Client ID Metadata Document, or RFC 7591) unless the server's credentials name one,
// sends a person through the authorization code flow with PKCE and the resource parameter
// (RFC 8707), takes the callback, and then holds the tokens: sealed by the keyring, sent
// on probes and gateway calls, refreshed before they expire and once after a 401, by one
// refresher at a time across replicas. Machine-to-machine servers get tokens with the
// client_credentials grant, authenticated by secret or private_key_jwt (RFC 7523).
//
// Every request it makes (metadata, registration, token) goes through the probe's HTTP
// client: the same address policy, redirect rule and response bounds.
package oauthclient

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/store"
)

// Paths agentmcp serves for its upstream OAuth clients, under its public URL.
const (
	CallbackPath = "/oauth/callback"
	MetadataPath = "/client-metadata.json"
)

// Errors, by kind.
var (
	// ErrNotOAuth: the server's credentials are not of type oauth.
	ErrNotOAuth = errors.New("the server's credentials are not OAuth")
	// ErrNoPerson: the grant is client_credentials; there is nothing to authorize.
	ErrNoPerson = errors.New("grant client_credentials needs no authorization by a person")
	// ErrState: the callback's state is unknown, used or expired.
	ErrState = errors.New("unknown, used or expired state")
	// ErrIssuer: the callback's iss is not the authorization server's (RFC 9207).
	ErrIssuer = errors.New("the authorization response's issuer is not the authorization server's")
	// ErrDiscovery: no authorization server could be found or used.
	ErrDiscovery = errors.New("OAuth discovery failed")
	// ErrNotConnected: no tokens (never connected, or refresh failed: reconnect).
	ErrNotConnected = errors.New("not connected")
	// ErrToken: the authorization server refused a token request.
	ErrToken = errors.New("token request refused")
	// ErrInsufficientScope: the server wants scopes the token lacks (step-up).
	ErrInsufficientScope = errors.New("insufficient scope")
	// ErrDenied: the person or the authorization server refused the authorization.
	ErrDenied = errors.New("authorization refused")
)

// Servers finds a server's URL (for client_credentials, whose tokens need no person).
type Servers interface {
	GetMCPServer(ctx context.Context, appID, slug string) (store.MCPServer, error)
}

// Options configure New.
type Options struct {
	Store   store.UpstreamOAuthStore
	Servers Servers
	// Keyring opens the servers' credentials and seals tokens (its Ring).
	Keyring *keyring.Service
	// Prober's HTTP client carries every OAuth request (its address policy and bounds).
	Prober *probe.Prober
	// PublicURL is agentmcp's base URL as people's browsers and authorization servers
	// reach it: the callback and the client metadata document hang under it.
	PublicURL string
	// Connected is told (in its own goroutine) when a server got new tokens by a person.
	Connected func(appID, slug string)
	Logger    *slog.Logger
	Now       func() time.Time
	// StateTTL bounds how long an authorization may take (default 10 minutes).
	StateTTL time.Duration
	// Timeout bounds each OAuth operation (default 30 s).
	Timeout time.Duration
}

// Service is the upstream OAuth client; it is safe for concurrent use.
type Service struct {
	opt     Options
	hc      *http.Client
	flights singleflight.Group
	tokens  tokenCache
}

// New returns the service.
func New(o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.StateTTL <= 0 {
		o.StateTTL = 10 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	hc := o.Prober.SessionHTTPClient(nil)
	hc.CheckRedirect = sameOrigin(hc.CheckRedirect)
	return &Service{opt: o, hc: hc}
}

// errRedirectOrigin refuses a redirect of OAuth traffic (metadata, registration, tokens)
// to another origin: the probe's own rule lets a redirect change the port.
var errRedirectOrigin = errors.New("redirect to another origin refused")

func sameOrigin(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if probe.Origin(req.URL) != probe.Origin(via[0].URL) {
			return errRedirectOrigin
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}

// CallbackURL is where authorization servers send people back to.
func (s *Service) CallbackURL() string { return s.opt.PublicURL + CallbackPath }

// MetadataURL is agentmcp's Client ID Metadata Document.
func (s *Service) MetadataURL() string { return s.opt.PublicURL + MetadataPath }

// Metadata is agentmcp's Client ID Metadata Document (draft-ietf-oauth-client-id-metadata-document).
func (s *Service) Metadata() []byte {
	b, _ := json.Marshal(map[string]any{
		"client_id":                  s.MetadataURL(),
		"client_name":                "agentmcp",
		"client_uri":                 s.opt.PublicURL,
		"redirect_uris":              []string{s.CallbackURL()},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": "none",
	})
	return b
}

// sealing: tokens and states are sealed for their server, under a name no credential
// uses, so neither opens as the other (and a rotation re-seals each under its name).
func tokensSlug(slug string) string { return store.SealName(store.SealedOAuthTokens, slug) }
func stateSlug(slug string) string  { return store.SealName(store.SealedOAuthState, slug) }

func (s *Service) seal(ctx context.Context, app, slug string, v any) (store.Sealed, error) {
	if s.opt.Keyring == nil || s.opt.Keyring.Ring == nil {
		return store.Sealed{}, keyring.ErrNoKeeper
	}
	b, err := json.Marshal(v)
	if err != nil {
		return store.Sealed{}, err
	}
	return s.opt.Keyring.Ring.Seal(ctx, app, slug, b)
}

func (s *Service) open(ctx context.Context, app, slug string, sealed store.Sealed, v any) error {
	if s.opt.Keyring == nil || s.opt.Keyring.Ring == nil {
		return keyring.ErrNoKeeper
	}
	b, err := s.opt.Keyring.Ring.Open(ctx, app, slug, sealed)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// config is the server's OAuth configuration (ErrNotOAuth when it has none).
func (s *Service) config(ctx context.Context, app, slug string) (*keyring.OAuth, error) {
	c, err := s.opt.Keyring.Credentials(ctx, app, slug)
	if err != nil {
		return nil, err
	}
	if c.Type != keyring.AuthOAuth || c.OAuth == nil {
		return nil, ErrNotOAuth
	}
	return c.OAuth, nil
}

// hashState is what the store keeps of a state.
func hashState(state string) [32]byte {
	return sha256.Sum256([]byte("agentmcp/oauth-state\x00" + state))
}

func randomText() string { return rand.Text() }

// Status is what may be shown of a server's OAuth connection.
type Status struct {
	Connected bool
	ExpiresAt int64    // epoch ms of the access token (0: unknown)
	Scopes    []string // granted
	StepUp    []string // asked for by the server since (the next authorize asks for them)
	Problem   string   // why it is not connected any more
}

// Status reads a server's connection.
func (s *Service) Status(ctx context.Context, app, slug string) (Status, error) {
	c, err := s.opt.Store.GetOAuthConnection(ctx, app, slug)
	if errors.Is(err, store.ErrNotFound) {
		return Status{Scopes: []string{}}, nil
	}
	if err != nil {
		return Status{}, err
	}
	return Status{Connected: c.Problem == "", ExpiresAt: c.ExpiresAt, Scopes: strings.Fields(c.Scopes), StepUp: strings.Fields(c.StepUp), Problem: c.Problem}, nil
}

// Forget drops a server's tokens (its credentials changed: they were for another client).
func (s *Service) Forget(ctx context.Context, app, slug string) error {
	defer s.Invalidate(app, slug)
	return s.opt.Store.DeleteOAuthConnection(ctx, app, slug)
}

// Auth is what a server's credentials send: static headers, or its OAuth connection's
// token. It implements upstream.Credentials and the probe runner's Credentials.
func (s *Service) Auth(ctx context.Context, app, slug string) (probe.Auth, error) {
	c, err := s.opt.Keyring.Credentials(ctx, app, slug)
	if err != nil {
		return nil, err
	}
	if c.Type != keyring.AuthOAuth || c.OAuth == nil {
		return s.opt.Keyring.Auth(ctx, app, slug)
	}
	return &tokenAuth{s: s, app: app, slug: slug, cfg: c.OAuth}, nil
}

func (s *Service) now() int64 { return s.opt.Now().UnixMilli() }

// withTimeout bounds one OAuth operation.
func (s *Service) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opt.Timeout)
}

func wrap(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}
