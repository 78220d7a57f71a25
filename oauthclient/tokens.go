package oauthclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/store"
)

// held is a server's tokens and the client they were issued to, as sealed.
type held struct {
	Access  string `json:"access,omitempty"`
	Refresh string `json:"refresh,omitempty"`
	Expiry  int64  `json:"expiry,omitempty"` // epoch ms; 0: unknown
	Client  client `json:"client"`
}

// Timing of renewals.
const (
	// early renews a token this long before it expires.
	early = 30 * time.Second
	// leaseFor holds a connection while one replica renews it.
	leaseFor = 30 * time.Second
)

func (s *Service) held(c client, tr tokenResponse, oldRefresh string) held {
	h := held{Access: tr.AccessToken, Refresh: tr.RefreshToken, Client: c}
	if h.Refresh == "" {
		h.Refresh = oldRefresh // not rotated: the old one stays good
	}
	if tr.ExpiresIn > 0 {
		h.Expiry = s.opt.Now().Add(time.Duration(tr.ExpiresIn) * time.Second).UnixMilli()
	}
	return h
}

// replace stores new tokens over whatever the server had (a person connected it).
func (s *Service) replace(ctx context.Context, app, slug string, h held, scopes []string) error {
	defer s.Invalidate(app, slug)
	sealed, err := s.seal(ctx, app, tokensSlug(slug), h)
	if err != nil {
		return err
	}
	for range 10 {
		prev := int64(0)
		c, err := s.opt.Store.GetOAuthConnection(ctx, app, slug)
		switch {
		case err == nil:
			prev = c.Version
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		_, err = s.opt.Store.SaveOAuthConnection(ctx, store.OAuthConnection{AppID: app, Slug: slug, Sealed: sealed, ExpiresAt: h.Expiry,
			Scopes: strings.Join(scopes, " "), UpdatedAt: s.now()}, prev)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("oauth connection of %s: %w", slug, store.ErrConflict)
}

// errBusy: another refresher holds the connection.
var errBusy = errors.New("another replica is renewing the token")

// access returns a usable access token of the server, renewing it when it is about to
// expire or when the server refused it (rejected: the token it refused). Renewals are one
// at a time: one flight per server in this process, and across replicas the store's lease
// and versioned writes; the others wait for the new token.
func (s *Service) access(ctx context.Context, app, slug string, cfg *keyring.OAuth, rejected string) (string, error) {
	key := serverKey{app, slug}
	for attempt := 0; ; attempt++ {
		t, ok, gen := s.tokens.get(key)
		if ok && t.access != rejected && s.fresh(t.expiry) {
			return t.access, nil
		}
		c, err := s.opt.Store.GetOAuthConnection(ctx, app, slug)
		none := errors.Is(err, store.ErrNotFound)
		if err != nil && !none {
			return "", err
		}
		var h held
		if !none {
			if err := s.open(ctx, app, tokensSlug(slug), c.Sealed, &h); err != nil {
				return "", err
			}
		}
		if h.Access != "" && h.Access != rejected && s.fresh(h.Expiry) {
			if c.Problem == "" {
				s.tokens.put(key, cachedToken{access: h.Access, expiry: h.Expiry, version: c.Version}, gen)
			}
			return h.Access, nil
		}
		machine := cfg.Grant == keyring.GrantClientCredentials
		switch {
		case c.Problem != "" && !machine:
			return "", wrap(ErrNotConnected, "%s; connect it again", c.Problem)
		case none && !machine:
			return "", wrap(ErrNotConnected, "no one has connected it yet (POST …/oauth/authorize)")
		case h.Refresh == "" && !machine:
			if h.Access != "" && h.Access != rejected {
				return h.Access, nil // about to expire and nothing to renew it with: use it while it lasts
			}
			return "", wrap(ErrNotConnected, "the access token expired and there is no refresh token; connect it again")
		}
		v, err, _ := s.flights.Do(app+"\x00"+slug, func() (any, error) {
			rctx, cancel := s.withTimeout(context.WithoutCancel(ctx))
			defer cancel()
			return s.renew(rctx, app, slug, cfg, c, none, h)
		})
		if err == nil {
			return v.(string), nil
		}
		if !errors.Is(err, errBusy) || attempt > 200 {
			return "", err
		}
		// Another replica renews: wait for its token. Until it lands the row still holds
		// the refused one, which is not an answer (rejected stays).
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(min(time.Duration(attempt+1)*20*time.Millisecond, 500*time.Millisecond)):
		}
	}
}

// fresh: a token expiring at expiry (epoch ms; 0: unknown) needs no renewal yet.
func (s *Service) fresh(expiry int64) bool {
	return expiry == 0 || expiry > s.opt.Now().Add(early).UnixMilli()
}

// renew gets new tokens with the refresh token, or the client_credentials grant, holding
// the connection's lease.
func (s *Service) renew(ctx context.Context, app, slug string, cfg *keyring.OAuth, c store.OAuthConnection, none bool, h held) (string, error) {
	if !none {
		now := s.now()
		ok, err := s.opt.Store.LeaseOAuthConnection(ctx, app, slug, c.Version, now, now+leaseFor.Milliseconds())
		if err != nil {
			return "", err
		}
		if !ok {
			return "", errBusy
		}
	}
	cl := h.Client
	var form url.Values
	scopes := strings.Fields(c.Scopes)
	if cfg.Grant == keyring.GrantClientCredentials {
		if cl.TokenURL == "" {
			found, err := s.machineClient(ctx, app, slug, cfg)
			if err != nil {
				s.release(ctx, c, none)
				return "", err
			}
			cl = found
		}
		scopes = cfg.Scopes
		form = url.Values{"grant_type": {"client_credentials"}}
		if len(scopes) > 0 {
			form.Set("scope", strings.Join(scopes, " "))
		}
	} else {
		form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {h.Refresh}}
	}
	tr, err := s.token(ctx, cl, form)
	if err != nil {
		var te *TokenError
		if errors.As(err, &te) && cfg.Grant != keyring.GrantClientCredentials {
			// The refresh token is spent, revoked or expired: only a person can fix it.
			problem := "refreshing the token failed: " + te.Error()
			if serr := s.fail(ctx, app, slug, c, held{Client: cl}, problem); serr != nil {
				return "", serr
			}
			return "", wrap(ErrNotConnected, "%s; connect it again", problem)
		}
		s.release(ctx, c, none)
		return "", err
	}
	if tr.Scope != "" {
		scopes = strings.Fields(tr.Scope)
	}
	nh := s.held(cl, tr, h.Refresh)
	sealed, err := s.seal(ctx, app, tokensSlug(slug), nh)
	if err != nil {
		return "", err
	}
	prev := c.Version
	if none {
		prev = 0
	}
	_, _, gen := s.tokens.get(serverKey{app, slug})
	saved, err := s.opt.Store.SaveOAuthConnection(ctx, store.OAuthConnection{AppID: app, Slug: slug, Sealed: sealed, ExpiresAt: nh.Expiry,
		Scopes: strings.Join(scopes, " "), StepUp: c.StepUp, UpdatedAt: s.now()}, prev)
	if errors.Is(err, store.ErrConflict) {
		return "", errBusy // the lease ran out and another renewed: take theirs
	}
	if err != nil {
		return "", err
	}
	s.tokens.put(serverKey{app, slug}, cachedToken{access: nh.Access, expiry: nh.Expiry, version: saved.Version}, gen)
	return nh.Access, nil
}

// release gives up a lease without new tokens, so others need not wait for it to end.
func (s *Service) release(ctx context.Context, c store.OAuthConnection, none bool) {
	if !none {
		s.opt.Store.SaveOAuthConnection(ctx, c, c.Version) // a new version ends the lease
	}
}

// fail keeps why the connection stopped working, without its tokens.
func (s *Service) fail(ctx context.Context, app, slug string, c store.OAuthConnection, h held, problem string) error {
	defer s.Invalidate(app, slug)
	sealed, err := s.seal(ctx, app, tokensSlug(slug), h)
	if err != nil {
		return err
	}
	c.Sealed, c.Problem, c.ExpiresAt, c.UpdatedAt = sealed, problem, 0, s.now()
	_, err = s.opt.Store.SaveOAuthConnection(ctx, c, c.Version)
	if errors.Is(err, store.ErrConflict) {
		return nil // a person connected it meanwhile
	}
	return err
}

// machineClient finds the token endpoint of a client_credentials server.
func (s *Service) machineClient(ctx context.Context, app, slug string, cfg *keyring.OAuth) (client, error) {
	if s.opt.Servers == nil {
		return client{}, wrap(ErrDiscovery, "no server lookup")
	}
	m, err := s.opt.Servers.GetMCPServer(ctx, app, slug)
	if err != nil {
		return client{}, err
	}
	res := s.opt.Prober.Probe(ctx, m.URL, nil)
	if res.Status == probe.StatusBlocked {
		return client{}, wrap(ErrDiscovery, "the server: %s", res.Error)
	}
	srv, err := s.discover(ctx, m.URL, parseChallenge(res.Challenge))
	if err != nil {
		return client{}, err
	}
	return s.client(ctx, cfg, srv)
}

// tokenAuth is what a server with an OAuth connection is sent: its access token.
type tokenAuth struct {
	s         *Service
	app, slug string
	cfg       *keyring.OAuth
}

func (a *tokenAuth) Header(ctx context.Context) (http.Header, error) {
	tok, err := a.s.access(ctx, a.app, a.slug, a.cfg, "")
	if errors.Is(err, ErrNotConnected) {
		return nil, nil // the server's own answer says what it wants
	}
	if err != nil {
		return nil, err
	}
	return http.Header{"Authorization": {"Bearer " + tok}}, nil
}

// Refused renews the token once after a 401; a 403 insufficient_scope (step-up) is
// recorded for the next authorization and not retried.
func (a *tokenAuth) Refused(ctx context.Context, resp *http.Response, sent http.Header) (http.Header, error) {
	ch := parseChallenge(resp.Header.Values("WWW-Authenticate"))
	if resp.StatusCode == http.StatusForbidden {
		if ch.Error != "insufficient_scope" {
			return nil, nil
		}
		st, err := a.s.Status(ctx, a.app, a.slug)
		if err == nil {
			want := union(st.StepUp, ch.Scopes)
			if len(want) > 0 {
				a.s.opt.Store.SetOAuthStepUp(ctx, a.app, a.slug, strings.Join(want, " "))
			}
		}
		return nil, wrap(ErrInsufficientScope, "the server asks for scopes %q: authorize again to grant them", strings.Join(ch.Scopes, " "))
	}
	rejected := strings.TrimPrefix(sent.Get("Authorization"), "Bearer ")
	if sent.Get("Authorization") == "" {
		rejected = ""
	}
	tok, err := a.s.access(ctx, a.app, a.slug, a.cfg, rejected)
	if err != nil {
		return nil, err
	}
	if tok == rejected {
		return nil, nil
	}
	return http.Header{"Authorization": {"Bearer " + tok}}, nil
}
