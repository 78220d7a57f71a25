package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/agentmcp/agentmcp/store"
)

// tokenResponse is RFC 6749 §5.1's.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// newTokens makes an access and a refresh token for grant.
func newTokens(grant string, now time.Time) (resp tokenResponse, rows []store.OAuthToken) {
	resp = tokenResponse{AccessToken: secret(AccessPrefix), RefreshToken: secret(RefreshPrefix), TokenType: "Bearer", ExpiresIn: int64(AccessTTL / time.Second), Scope: Scope}
	return resp, []store.OAuthToken{
		{Hash: store.HashKey(resp.AccessToken), GrantID: grant, Kind: store.OAuthAccess, ExpiresAt: ms(now.Add(AccessTTL))},
		{Hash: store.HashKey(resp.RefreshToken), GrantID: grant, Kind: store.OAuthRefresh, ExpiresAt: ms(now.Add(RefreshTTL))},
	}
}

// clientID is the client of a token or revocation request: the form's, or HTTP Basic's
// user for clients that send it that way (public clients: no secret is checked).
func clientID(r *http.Request) string {
	if id := r.PostForm.Get("client_id"); id != "" {
		return id
	}
	id, _, _ := r.BasicAuth()
	return id
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "The body must be a form of at most 16 KiB.")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		s.exchangeCode(w, r)
	case "refresh_token":
		s.refresh(w, r)
	default:
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type is authorization_code or refresh_token.")
	}
}

// pkce reports whether verifier is the one of challenge (S256, RFC 7636 §4.6).
func pkce(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

func (s *Server) exchangeCode(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	now := s.o.Now()
	code := store.HashKey(f.Get("code"))
	req, err := s.o.Store.LookupOAuthCode(r.Context(), code)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.serverError(w, "token", err)
		return
	}
	switch {
	case err != nil || f.Get("code") == "":
		writeError(w, http.StatusBadRequest, "invalid_grant", "The code is not valid.")
		return
	case req.ClientID != clientID(r):
		writeError(w, http.StatusBadRequest, "invalid_grant", "The code was issued to another client.")
		return
	case req.RedirectURI != f.Get("redirect_uri"):
		writeError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri is not the one of the authorization request.")
		return
	case !pkce(f.Get("code_verifier"), req.CodeChallenge):
		writeError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge.")
		return
	case f.Get("resource") != "" && f.Get("resource") != s.Resource(r, req.AgentUID):
		writeError(w, http.StatusBadRequest, "invalid_target", "resource is not the one of the authorization request.")
		return
	case req.UsedAt == 0 && req.ExpiresAt <= ms(now):
		writeError(w, http.StatusBadRequest, "invalid_grant", "The code expired.")
		return
	}
	g := store.OAuthGrant{ID: req.ID, AppID: req.AppID, AgentUID: req.AgentUID, ClientID: req.ClientID, ClientName: req.ClientName, Scope: req.Scope, CreatedAt: ms(now), LastUsedAt: ms(now)}
	resp, rows := newTokens(g.ID, now)
	ctx := store.WithActor(r.Context(), store.Actor{KeyID: req.ApprovedBy})
	err = s.o.Store.RedeemOAuthCode(ctx, code, g, rows, ms(now))
	switch {
	case errors.Is(err, store.ErrReplayed):
		s.o.Logger.Warn("oauth code used twice: its grant is revoked", "grant", g.ID, "agent", g.AgentUID)
		writeError(w, http.StatusBadRequest, "invalid_grant", "The code was used before; the tokens it gave are revoked.")
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict): // the agent went meanwhile
		writeError(w, http.StatusBadRequest, "invalid_grant", "The agent no longer exists.")
	case err != nil:
		s.serverError(w, "token", err)
	default:
		writeJSON(w, http.StatusOK, resp)
	}
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	now := s.o.Now()
	old := store.HashKey(r.PostForm.Get("refresh_token"))
	t, g, err := s.o.Store.LookupOAuthToken(r.Context(), old)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.serverError(w, "token", err)
		return
	}
	if err != nil || t.Kind != store.OAuthRefresh || g.ClientID != clientID(r) {
		writeError(w, http.StatusBadRequest, "invalid_grant", "The refresh token is not valid.")
		return
	}
	resp, rows := newTokens(g.ID, now)
	_, err = s.o.Store.RotateOAuthRefresh(r.Context(), old, rows, ms(now))
	switch {
	case errors.Is(err, store.ErrReplayed):
		s.o.Logger.Warn("oauth refresh token used twice: its grant is revoked", "grant", g.ID, "agent", g.AgentUID)
		writeError(w, http.StatusBadRequest, "invalid_grant", "The refresh token was used before; every token of this grant is revoked.")
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusBadRequest, "invalid_grant", "The refresh token is not valid.")
	case err != nil:
		s.serverError(w, "token", err)
	default:
		writeJSON(w, http.StatusOK, resp)
	}
}

// revoke revokes the grant of an access or refresh token (RFC 7009: unknown tokens are
// not an error).
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "The body must be a form of at most 16 KiB.")
		return
	}
	_, g, err := s.o.Store.LookupOAuthToken(r.Context(), store.HashKey(r.PostForm.Get("token")))
	if err == nil && g.ClientID == clientID(r) {
		err = s.o.Store.RevokeOAuthGrant(r.Context(), g.AppID, g.ID)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.serverError(w, "revoke", err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// touchEvery is how often a grant's last use is written.
const touchEvery = time.Minute

// Verify returns the agent key an access token stands for at the gateway of agent uid:
// scope agent, that agent, the grant's app. ErrInvalidToken for a token that is unknown,
// expired, revoked (the agent deleted with it) or for another agent's gateway.
//
// Through an outage of the store (Options.Outage) a token verified here before answers as
// it did, until its own expiry and within the outage's bound; one whose grant is known
// revoked is refused; one never verified here gets the store's unavailable error (503).
func (s *Server) Verify(ctx context.Context, token, uid string) (store.APIKey, error) {
	h := store.HashKey(token)
	t, g, err := s.o.Store.LookupOAuthToken(ctx, h)
	if o := s.o.Outage; o != nil {
		o.Observe(err)
	}
	now := s.o.Now()
	if errors.Is(err, store.ErrUnavailable) && s.o.Outage != nil && s.o.Outage.Serving() {
		if k, revoked, ok := s.known.answer(h, ms(now)); ok {
			switch {
			case revoked:
				return store.APIKey{}, ErrInvalidToken
			case k.AgentUID != uid:
				return store.APIKey{}, fmt.Errorf("%w: issued for another agent's gateway", ErrInvalidToken)
			}
			s.o.Outage.Served()
			return k, nil
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		s.known.gone(h)
		return store.APIKey{}, ErrInvalidToken
	}
	if err != nil {
		return store.APIKey{}, err
	}
	switch {
	case t.Kind != store.OAuthAccess || t.ExpiresAt <= ms(now):
		return store.APIKey{}, ErrInvalidToken
	case g.AgentUID != uid:
		return store.APIKey{}, fmt.Errorf("%w: issued for another agent's gateway", ErrInvalidToken)
	}
	if ms(now)-g.LastUsedAt >= touchEvery.Milliseconds() {
		if err := s.o.Store.TouchOAuthGrant(ctx, g.ID, ms(now)); err != nil {
			s.o.Logger.Warn("oauth grant last use", "err", err)
		}
	}
	k := store.APIKey{ID: KeyID(g.ID), AppID: g.AppID, Scope: store.ScopeAgent, AgentUID: g.AgentUID, Name: g.ClientName, CreatedAt: g.CreatedAt}
	s.known.put(h, k, t.ExpiresAt)
	return k, nil
}
