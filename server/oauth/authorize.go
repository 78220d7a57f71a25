package oauth

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/agentmcp/agentmcp/store"
)

// ConsolePath is the console's consent page; the request id follows it.
const ConsolePath = "/console/#/oauth/consent/"

// authorize checks an authorization request and sends the person to the console's consent
// page. Until client and redirect URI are known good, errors are shown, not redirected
// (RFC 6749 §4.1.2.1).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, err := s.lookupClient(r.Context(), q.Get("client_id"))
	if errors.Is(err, errBadClient) {
		writeError(w, http.StatusBadRequest, "invalid_client", err.Error())
		return
	}
	if err != nil {
		s.serverError(w, "authorize", err)
		return
	}
	redirect := q.Get("redirect_uri")
	if !redirectMatches(c.RedirectURIs, redirect) {
		writeError(w, http.StatusBadRequest, "invalid_request", "redirect_uri is missing or is not one the client registered.")
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) {
		http.Redirect(w, r, s.response(r, redirect, url.Values{"error": {code}, "error_description": {desc}, "state": {state}}), http.StatusFound)
	}
	uid := ""
	if res, ok := strings.CutPrefix(q.Get("resource"), s.Issuer(r)); ok {
		uid = s.agentOf(res)
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "Only response_type=code is supported.")
	case len(state) > 1000 || len(q.Get("scope")) > 1000:
		fail("invalid_request", "state and scope are at most 1000 characters.")
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		fail("invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256.")
	case uid == "":
		fail("invalid_target", "resource is required: the URL of one agent's gateway on this server.")
	default:
		now := s.o.Now()
		req := store.OAuthRequest{ID: secret(""), ClientID: c.ID, ClientName: c.Name, AgentUID: uid, RedirectURI: redirect,
			CodeChallenge: q.Get("code_challenge"), State: state, Scope: Scope, CreatedAt: ms(now), ExpiresAt: ms(now.Add(ConsentTTL))}
		if err := s.o.Store.CreateOAuthRequest(r.Context(), req); err != nil {
			s.serverError(w, "authorize", err)
			return
		}
		http.Redirect(w, r, s.Issuer(r)+ConsolePath+req.ID, http.StatusFound)
	}
}

// response is the redirect URI with an authorization response's parameters and the
// issuer (RFC 9207).
func (s *Server) response(r *http.Request, redirect string, v url.Values) string {
	u, _ := url.Parse(redirect) // checked at registration
	q := u.Query()
	for k, vs := range v {
		if vs[0] != "" {
			q.Set(k, vs[0])
		}
	}
	q.Set("iss", s.Issuer(r))
	u.RawQuery = q.Encode()
	return u.String()
}

// ConsentInfo is what the consent page shows (GET /oauth/consent/{id}).
type ConsentInfo struct {
	ClientID     string `json:"clientId"`
	ClientName   string `json:"clientName"`
	RedirectHost string `json:"redirectHost"`
	AgentUID     string `json:"agentUid"`
	AgentName    string `json:"agentName"`
	Scope        string `json:"scope"`
}

// consentKey authenticates the person on the consent page: a fullAccess key of the app,
// in the apikey header. A header no other site can make a browser send is what makes the
// consent CSRF-safe: no cookie is involved.
func (s *Server) consentKey(w http.ResponseWriter, r *http.Request) (store.APIKey, store.OAuthRequest, store.Agent, bool) {
	secret := r.Header.Get("apikey")
	if secret == "" {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Sign in with a fullAccess key of the agent's app (apikey header).")
		return store.APIKey{}, store.OAuthRequest{}, store.Agent{}, false
	}
	k, err := s.o.Keys.Lookup(r.Context(), secret)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (k.RevokedAt != 0 || k.Scope != store.ScopeFullAccess)) {
		writeError(w, http.StatusUnauthorized, "unauthorized", "The key is not a fullAccess key.")
		return k, store.OAuthRequest{}, store.Agent{}, false
	}
	if err != nil {
		s.serverError(w, "consent", err)
		return k, store.OAuthRequest{}, store.Agent{}, false
	}
	req, err := s.o.Store.GetOAuthRequest(r.Context(), r.PathValue("id"), ms(s.o.Now()))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "This authorization request does not exist, was decided or expired: start again from the client.")
		return k, req, store.Agent{}, false
	}
	if err != nil {
		s.serverError(w, "consent", err)
		return k, req, store.Agent{}, false
	}
	a, err := s.o.Agents.GetAgent(r.Context(), k.AppID, req.AgentUID)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "This app has no agent "+req.AgentUID+": sign in with a key of the agent's app.")
		return k, req, a, false
	}
	if err != nil {
		s.serverError(w, "consent", err)
		return k, req, a, false
	}
	return k, req, a, true
}

func (s *Server) consentInfo(w http.ResponseWriter, r *http.Request) {
	_, req, a, ok := s.consentKey(w, r)
	if !ok {
		return
	}
	host := req.RedirectURI
	if u, err := url.Parse(req.RedirectURI); err == nil {
		host = u.Scheme + "://" + u.Host
	}
	writeJSON(w, http.StatusOK, ConsentInfo{ClientID: req.ClientID, ClientName: req.ClientName, RedirectHost: host, AgentUID: a.UID, AgentName: a.Name, Scope: req.Scope})
}

// Decision is the person's answer (POST /oauth/consent/{id}).
type Decision struct {
	Approve bool `json:"approve"`
}

// Decided tells the page where to send the person: back to the client.
type Decided struct {
	RedirectTo string `json:"redirectTo"`
}

func (s *Server) consentDecide(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "invalid_request", "The decision is JSON: {\"approve\": true|false}.")
		return
	}
	var d Decision
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1024))
	if err == nil {
		err = json.Unmarshal(body, &d)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "The decision is JSON: {\"approve\": true|false}.")
		return
	}
	k, req, _, ok := s.consentKey(w, r)
	if !ok {
		return
	}
	if !d.Approve {
		if err := s.o.Store.DenyOAuthRequest(r.Context(), req.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.serverError(w, "consent", err)
			return
		}
		writeJSON(w, http.StatusOK, Decided{RedirectTo: s.response(r, req.RedirectURI, url.Values{"error": {"access_denied"}, "state": {req.State}})})
		return
	}
	code := secret("")
	now := s.o.Now()
	err = s.o.Store.ApproveOAuthRequest(r.Context(), req.ID, k.AppID, k.ID, store.HashKey(code), ms(now), ms(now.Add(CodeTTL)))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "This authorization request was decided or expired: start again from the client.")
		return
	}
	if err != nil {
		s.serverError(w, "consent", err)
		return
	}
	writeJSON(w, http.StatusOK, Decided{RedirectTo: s.response(r, req.RedirectURI, url.Values{"code": {code}, "state": {req.State}})})
}
