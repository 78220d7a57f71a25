package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/store"
)

// Bounds of what clients send and serve.
const (
	maxRegistration = 16 << 10 // a registration's body
	maxDocument     = 64 << 10 // a client ID metadata document
	maxRedirectURIs = 10
	maxNameLen      = 200
	maxURILen       = 2000
	docTTL          = 10 * time.Minute // documents are cached this long
	maxDocs         = 1000
)

// client is a client as the authorization server knows it, registered or described by
// its metadata document.
type client struct {
	ID           string
	Name         string
	RedirectURIs []string
}

var (
	errBadClient   = errors.New("invalid client")
	errBadMetadata = errors.New("invalid client metadata")
)

func defaultFetcher() *http.Client {
	c := probe.New(probe.Options{Timeout: 5 * time.Second, MaxBytes: maxDocument}).SessionHTTPClient(nil)
	c.Timeout = 5 * time.Second
	return c
}

// checkRedirectURIs accepts https URLs, http ones on a loopback host (RFC 8252 §7.3) and
// private-use schemes of native apps (RFC 8252 §7.1: a reverse domain name, with a dot).
func checkRedirectURIs(uris []string) error {
	if len(uris) == 0 || len(uris) > maxRedirectURIs {
		return fmt.Errorf("%w: redirect_uris must hold 1 to %d URIs", errBadMetadata, maxRedirectURIs)
	}
	for _, raw := range uris {
		u, err := url.Parse(raw)
		switch {
		case err != nil || len(raw) > maxURILen || !u.IsAbs() || u.Fragment != "" || u.User != nil:
			return fmt.Errorf("%w: redirect URI %.100q is not an absolute URI without fragment", errBadMetadata, raw)
		case u.Scheme == "https" && u.Host != "":
		case u.Scheme == "http" && loopback(u.Hostname()):
		case u.Scheme != "http" && strings.Contains(u.Scheme, "."):
		default:
			return fmt.Errorf("%w: redirect URI %.100q must be https, http on a loopback address, or a private-use scheme", errBadMetadata, raw)
		}
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redirectMatches compares a redirect URI with a registered one exactly, but for the port
// of a loopback http one, which a native app picks when it runs (RFC 8252 §7.3).
func redirectMatches(registered []string, got string) bool {
	if slices.Contains(registered, got) {
		return true
	}
	g, err := url.Parse(got)
	if err != nil || g.Scheme != "http" || !loopback(g.Hostname()) {
		return false
	}
	for _, raw := range registered {
		r, err := url.Parse(raw)
		if err == nil && r.Scheme == "http" && r.Hostname() == g.Hostname() && r.EscapedPath() == g.EscapedPath() &&
			r.RawQuery == g.RawQuery && g.Fragment == "" && g.User == nil {
			return true
		}
	}
	return false
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var m oauthex.ClientRegistrationMetadata
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRegistration))
	if err == nil {
		err = json.Unmarshal(body, &m)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_client_metadata", "The body must be a JSON client registration of at most 16 KiB.")
		return
	}
	if err := checkMetadata(&m); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_client_metadata", err.Error())
		return
	}
	now := s.o.Now()
	s.purge(r.Context(), now)
	c := store.OAuthClient{ID: secret("amc_"), Name: m.ClientName, RedirectURIs: m.RedirectURIs, CreatedAt: ms(now), ExpiresAt: ms(now.Add(RegistrationTTL))}
	if err := s.o.Store.CreateOAuthClient(r.Context(), c); err != nil {
		s.serverError(w, "register", err)
		return
	}
	m.TokenEndpointAuthMethod = "none" // public clients: PKCE is their proof
	m.GrantTypes = []string{"authorization_code", "refresh_token"}
	m.ResponseTypes = []string{"code"}
	m.Scope = Scope
	writeJSON(w, http.StatusCreated, &oauthex.ClientRegistrationResponse{ClientRegistrationMetadata: m, ClientID: c.ID, ClientIDIssuedAt: now.Truncate(time.Second)})
}

// checkMetadata validates what a registration or a metadata document says of a client.
func checkMetadata(m *oauthex.ClientRegistrationMetadata) error {
	if err := checkRedirectURIs(m.RedirectURIs); err != nil {
		return err
	}
	if len(m.ClientName) > maxNameLen {
		return fmt.Errorf("%w: client_name is longer than %d characters", errBadMetadata, maxNameLen)
	}
	for _, g := range m.GrantTypes {
		if g != "authorization_code" && g != "refresh_token" {
			return fmt.Errorf("%w: grant type %.50q is not supported", errBadMetadata, g)
		}
	}
	for _, t := range m.ResponseTypes {
		if t != "code" {
			return fmt.Errorf("%w: response type %.50q is not supported", errBadMetadata, t)
		}
	}
	return nil
}

// purge deletes what expired, at most once a minute (on registrations: what fills the
// tables is registrations and the requests they make).
func (s *Server) purge(ctx context.Context, now time.Time) {
	s.mu.Lock()
	due := now.Sub(s.purged) > time.Minute
	if due {
		s.purged = now
	}
	s.mu.Unlock()
	if due {
		if _, err := s.o.Store.PurgeOAuth(ctx, ms(now)); err != nil {
			s.o.Logger.Warn("oauth purge", "err", err)
		}
	}
}

type cachedDoc struct {
	c       client
	expires time.Time
}

// metadataDocument tells a client id that is a client ID metadata document's URL.
func metadataDocument(id string) bool { return strings.HasPrefix(id, "https://") }

// lookupClient finds a registered client or fetches (and caches) its metadata document.
func (s *Server) lookupClient(ctx context.Context, id string) (client, error) {
	if id == "" || len(id) > maxURILen {
		return client{}, fmt.Errorf("%w: client_id is missing or too long", errBadClient)
	}
	now := s.o.Now()
	if !metadataDocument(id) {
		c, err := s.o.Store.GetOAuthClient(ctx, id, ms(now))
		if errors.Is(err, store.ErrNotFound) {
			return client{}, fmt.Errorf("%w: client %.60q is not registered, or its registration expired unused", errBadClient, id)
		}
		return client{ID: c.ID, Name: c.Name, RedirectURIs: c.RedirectURIs}, err
	}
	s.mu.Lock()
	d, ok := s.docs[id]
	s.mu.Unlock()
	if ok && now.Before(d.expires) {
		return d.c, nil
	}
	c, err := s.fetchDocument(ctx, id)
	if err != nil {
		return client{}, err
	}
	s.mu.Lock()
	if len(s.docs) >= maxDocs {
		for k, v := range s.docs {
			if !now.Before(v.expires) || len(s.docs) >= maxDocs {
				delete(s.docs, k)
			}
		}
	}
	s.docs[id] = cachedDoc{c: c, expires: now.Add(docTTL)}
	s.mu.Unlock()
	return c, nil
}

// fetchDocument fetches and checks a client ID metadata document.
func (s *Server) fetchDocument(ctx context.Context, id string) (client, error) {
	u, err := url.Parse(id)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || u.Path == "" || u.Path == "/" {
		return client{}, fmt.Errorf("%w: a client ID metadata document URL is https with a path, no fragment or user", errBadClient)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, id, nil)
	if err != nil {
		return client{}, fmt.Errorf("%w: %w", errBadClient, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.o.ClientFetcher.Do(req)
	if err != nil {
		if probe.Blocked(err) {
			return client{}, fmt.Errorf("%w: the client's metadata document is not on a public address", errBadClient)
		}
		return client{}, fmt.Errorf("%w: the client's metadata document could not be fetched", errBadClient)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return client{}, fmt.Errorf("%w: the client's metadata document answered HTTP %d", errBadClient, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil || len(body) > maxDocument {
		return client{}, fmt.Errorf("%w: the client's metadata document could not be read within 64 KiB", errBadClient)
	}
	var doc struct {
		oauthex.ClientRegistrationMetadata
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return client{}, fmt.Errorf("%w: the client's metadata document is not JSON", errBadClient)
	}
	if doc.ClientID != id {
		return client{}, fmt.Errorf("%w: the client's metadata document names another client_id", errBadClient)
	}
	if err := checkMetadata(&doc.ClientRegistrationMetadata); err != nil {
		return client{}, fmt.Errorf("%w: %w", errBadClient, err)
	}
	return client{ID: id, Name: doc.ClientName, RedirectURIs: doc.RedirectURIs}, nil
}

func (s *Server) serverError(w http.ResponseWriter, op string, err error) {
	s.o.Logger.Error("oauth "+op, "err", err)
	status := http.StatusInternalServerError
	if errors.Is(err, store.ErrUnavailable) {
		status = http.StatusServiceUnavailable
	}
	writeError(w, status, "server_error", "The authorization server could not complete the request.")
}
