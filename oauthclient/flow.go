package oauthclient

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"

	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/store"
)

// pending is what an authorization request's callback needs, sealed in its state row.
type pending struct {
	Verifier     string   `json:"verifier"`
	Client       client   `json:"client"`
	Scopes       []string `json:"scopes,omitempty"`
	IssSupported bool     `json:"issSupported,omitempty"`
	Redirect     string   `json:"redirect"`
}

// Authorize starts a person's authorization of agentmcp for the server at serverURL and
// returns the URL to send them to. It asks the server what it wants (its challenge, with
// the tokens it is sent now), finds its authorization server, registers agentmcp there
// when its credentials name no client, and keeps the request's PKCE verifier under a
// single-use state that expires.
func (s *Service) Authorize(ctx context.Context, app, slug, serverURL string) (string, error) {
	cfg, err := s.config(ctx, app, slug)
	if err != nil {
		return "", err
	}
	if cfg.Grant == keyring.GrantClientCredentials {
		return "", ErrNoPerson
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	auth, _ := s.Auth(ctx, app, slug)
	res := s.opt.Prober.Probe(ctx, serverURL, auth)
	if res.Status == probe.StatusBlocked {
		return "", wrap(ErrDiscovery, "the server: %s", res.Error)
	}
	ch := parseChallenge(res.Challenge)
	srv, err := s.discover(ctx, serverURL, ch)
	if err != nil {
		return "", err
	}
	st, err := s.Status(ctx, app, slug)
	if err != nil {
		return "", err
	}
	scopes := requestedScopes(cfg.Scopes, ch.Scopes, srv.ScopesSupported)
	if len(ch.Scopes) > 0 || len(st.StepUp) > 0 {
		// Step-up keeps what was granted (SEP-2350).
		scopes = union(union(scopes, st.Scopes), st.StepUp)
	}
	c, err := s.client(ctx, cfg, srv)
	if err != nil {
		return "", err
	}
	verifier, state := oauth2.GenerateVerifier(), randomText()
	oc := oauth2.Config{ClientID: c.ID, Endpoint: oauth2.Endpoint{AuthURL: srv.AS.AuthorizationEndpoint}, RedirectURL: s.CallbackURL(), Scopes: scopes}
	authURL := oc.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", srv.Resource))
	sealed, err := s.seal(ctx, app, stateSlug(slug), pending{Verifier: verifier, Client: c, Scopes: scopes,
		IssSupported: srv.AS.AuthorizationResponseIssParameterSupported, Redirect: s.CallbackURL()})
	if err != nil {
		return "", err
	}
	if err := s.opt.Store.PutOAuthState(ctx, store.OAuthState{Hash: hashState(state), AppID: app, Slug: slug, Sealed: sealed,
		ExpiresAt: s.opt.Now().Add(s.opt.StateTTL).UnixMilli()}); err != nil {
		return "", err
	}
	return authURL, nil
}

// requestedScopes: the configured ones with the challenge's, else the configured ones,
// else the resource's scopes_supported, else none (the scope parameter is left out).
func requestedScopes(configured, challenged, supported []string) []string {
	switch {
	case len(challenged) > 0:
		return union(configured, challenged)
	case len(configured) > 0:
		return slices.Clone(configured)
	}
	return slices.Clone(supported)
}

// client is who agentmcp is to the authorization server: the configured client, else its
// Client ID Metadata Document where the server takes one, else a registration (RFC 7591).
func (s *Service) client(ctx context.Context, cfg *keyring.OAuth, srv server) (client, error) {
	c := client{TokenURL: srv.AS.TokenEndpoint, Issuer: srv.AS.Issuer, Resource: srv.Resource}
	supported := srv.AS.TokenEndpointAuthMethodsSupported
	switch {
	case cfg.ClientID != "":
		c.ID, c.Secret, c.KeyPEM, c.Alg = cfg.ClientID, cfg.ClientSecret, cfg.PrivateKeyPEM, cfg.SigningAlgorithm
		switch {
		case cfg.PrivateKeyPEM != "":
			c.Method = authJWT
		case cfg.ClientSecret == "":
			c.Method = authNone
		case len(supported) == 0 || slices.Contains(supported, authBasic):
			c.Method = authBasic // RFC 8414's default
		default:
			c.Method = authPost
		}
		return c, nil
	case srv.AS.ClientIDMetadataDocumentSupported:
		c.ID, c.Method = s.MetadataURL(), authNone
		return c, nil
	case srv.AS.RegistrationEndpoint != "":
		method := authNone
		switch {
		case slices.Contains(supported, authBasic):
			method = authBasic
		case slices.Contains(supported, authPost):
			method = authPost
		case len(supported) > 0 && !slices.Contains(supported, authNone):
			method = supported[0]
		}
		reg, err := oauthex.RegisterClient(ctx, srv.AS.RegistrationEndpoint, &oauthex.ClientRegistrationMetadata{
			RedirectURIs: []string{s.CallbackURL()}, TokenEndpointAuthMethod: method, ClientName: "agentmcp",
			GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"}, ClientURI: s.opt.PublicURL,
		}, s.hc)
		if err != nil {
			return client{}, wrap(ErrDiscovery, "registering agentmcp with %s: %v", srv.AS.RegistrationEndpoint, err)
		}
		c.ID, c.Secret, c.Method, c.Registered = reg.ClientID, reg.ClientSecret, reg.TokenEndpointAuthMethod, true
		switch {
		case c.Method == "" && c.Secret == "":
			c.Method = authNone
		case c.Method == "":
			c.Method = authBasic
		}
		return c, nil
	}
	return client{}, wrap(ErrDiscovery, "the authorization server %s takes neither a client metadata document nor registrations: give the server's auth a clientId", srv.AS.Issuer)
}

// Callback completes an authorization: it takes the state (once), checks the issuer
// (RFC 9207), exchanges the code with the PKCE verifier and keeps the tokens. It returns
// the server the state was for whenever the state was known.
func (s *Service) Callback(ctx context.Context, q url.Values) (app, slug string, err error) {
	state := q.Get("state")
	if state == "" || len(state) > 512 {
		return "", "", ErrState
	}
	st, err := s.opt.Store.TakeOAuthState(ctx, hashState(state), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return "", "", ErrState
	}
	if err != nil {
		return "", "", err
	}
	app, slug = st.AppID, st.Slug
	var p pending
	if err := s.open(ctx, app, stateSlug(slug), st.Sealed, &p); err != nil {
		return app, slug, err
	}
	if e := q.Get("error"); e != "" {
		return app, slug, wrap(ErrDenied, "the authorization server answered %s", safeCode(e))
	}
	iss := q.Get("iss")
	if (p.IssSupported && iss == "") || (iss != "" && strings.TrimRight(iss, "/") != strings.TrimRight(p.Client.Issuer, "/")) {
		return app, slug, ErrIssuer
	}
	code := q.Get("code")
	if code == "" {
		return app, slug, wrap(ErrDenied, "the callback has no code")
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	tr, err := s.token(ctx, p.Client, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {p.Redirect}, "code_verifier": {p.Verifier}})
	if err != nil {
		return app, slug, err
	}
	scopes := p.Scopes
	if tr.Scope != "" {
		scopes = strings.Fields(tr.Scope)
	}
	if err := s.replace(ctx, app, slug, s.held(p.Client, tr, ""), scopes); err != nil {
		return app, slug, err
	}
	if s.opt.Connected != nil {
		go s.opt.Connected(app, slug)
	}
	return app, slug, nil
}
