package oauthclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/agentmcp/agentmcp/probe"
)

// challenge is what a server's 401 or 403 said (WWW-Authenticate, Bearer scheme).
type challenge struct {
	ResourceMetadata string
	Scopes           []string
	Error            string
}

func parseChallenge(values []string) challenge {
	cs, err := oauthex.ParseWWWAuthenticate(values)
	if err != nil {
		return challenge{}
	}
	var out challenge
	for _, c := range cs {
		if out.ResourceMetadata == "" {
			out.ResourceMetadata = c.Params["resource_metadata"]
		}
		if c.Scheme == "bearer" {
			if out.Scopes == nil && c.Params["scope"] != "" {
				out.Scopes = strings.Fields(c.Params["scope"])
			}
			if out.Error == "" {
				out.Error = c.Params["error"]
			}
		}
	}
	return out
}

// server is what discovery found: the resource to ask tokens for and its authorization
// server's endpoints.
type server struct {
	Resource        string
	ScopesSupported []string // the protected resource's
	AS              *oauthex.AuthServerMeta
}

// discover finds the authorization server of the MCP server at serverURL, starting from
// the challenge it answered with: the protected resource metadata (the challenge's
// resource_metadata, then the well-known paths at the endpoint's path and at the root),
// then the authorization server's metadata (RFC 8414 and OpenID, with path insertion).
// A server without protected resource metadata is its own authorization server
// (2025-03-26), and one without metadata has the default endpoints.
func (s *Service) discover(ctx context.Context, serverURL string, ch challenge) (server, error) {
	var prm *oauthex.ProtectedResourceMetadata
	for _, c := range prmCandidates(ch.ResourceMetadata, serverURL) {
		m, err := oauthex.GetProtectedResourceMetadata(ctx, c.url, c.resource, s.hc)
		if err != nil {
			if probe.Blocked(err) {
				return server{}, wrap(ErrDiscovery, "protected resource metadata at %s: %v", c.url, err)
			}
			continue // the next place, as for a 404
		}
		if m != nil {
			if len(m.AuthorizationServers) == 0 {
				return server{}, wrap(ErrDiscovery, "the protected resource metadata at %s names no authorization server", c.url)
			}
			prm = m
			break
		}
	}
	out := server{Resource: serverURL}
	issuer := ""
	if prm != nil {
		issuer = prm.AuthorizationServers[0]
		out.ScopesSupported = prm.ScopesSupported
		if prm.Resource != "" {
			out.Resource = prm.Resource
		}
	} else {
		u, err := url.Parse(serverURL)
		if err != nil {
			return server{}, wrap(ErrDiscovery, "server URL: %v", err)
		}
		u.Path, u.RawPath, u.RawQuery, u.Fragment = "", "", "", ""
		issuer = u.String() // no metadata at all: the 2025-03-26 fallback
	}
	var asm *oauthex.AuthServerMeta
	var err error
	if prm != nil {
		asm, err = auth.GetAuthServerMetadata(ctx, issuer, s.hc)
	} else {
		asm, err = s.legacyMetadata(ctx, issuer)
	}
	if err != nil {
		return server{}, wrap(ErrDiscovery, "authorization server metadata of %s: %v", issuer, err)
	}
	if asm == nil {
		base := strings.TrimRight(issuer, "/")
		asm = &oauthex.AuthServerMeta{Issuer: issuer, AuthorizationEndpoint: base + "/authorize", TokenEndpoint: base + "/token", RegistrationEndpoint: base + "/register"}
	}
	if asm.TokenEndpoint == "" {
		return server{}, wrap(ErrDiscovery, "the authorization server %s has no token endpoint", issuer)
	}
	out.AS = asm
	return out, nil
}

type prmCandidate struct{ url, resource string }

// prmCandidates are the protected resource metadata URLs in the spec's order.
func prmCandidates(fromChallenge, serverURL string) []prmCandidate {
	var out []prmCandidate
	if fromChallenge != "" {
		out = append(out, prmCandidate{fromChallenge, serverURL})
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		return out
	}
	m := *u
	m.RawQuery, m.Fragment, m.RawPath = "", "", ""
	if p := strings.Trim(u.Path, "/"); p != "" {
		m.Path = "/.well-known/oauth-protected-resource/" + p
		out = append(out, prmCandidate{m.String(), serverURL})
	}
	m.Path = "/.well-known/oauth-protected-resource"
	root := *u
	root.Path, root.RawPath, root.RawQuery, root.Fragment = "", "", "", ""
	out = append(out, prmCandidate{m.String(), root.String()})
	return out
}

// union is a ∪ b, in order, without repeats.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// legacyMetadata is the 2025-03-26 discovery: the MCP server's origin is the
// authorization server, its metadata at the origin's RFC 8414 path, and the issuer it
// names is taken as it is (servers of that revision often name a path under the origin).
// nil, nil: no metadata (the default endpoints apply).
func (s *Service) legacyMetadata(ctx context.Context, origin string) (*oauthex.AuthServerMeta, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(origin, "/")+"/.well-known/oauth-authorization-server", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("MCP-Protocol-Version", "2025-03-26")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 && resp.StatusCode < 500 {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var m oauthex.AuthServerMeta
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxTokenResponse)).Decode(&m); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	for _, u := range []string{m.AuthorizationEndpoint, m.TokenEndpoint, m.RegistrationEndpoint} {
		if p, err := url.Parse(u); u != "" && (err != nil || (p.Scheme != "https" && p.Scheme != "http")) {
			return nil, fmt.Errorf("metadata names a non-HTTP endpoint %q", u)
		}
	}
	if m.Issuer == "" {
		m.Issuer = origin
	}
	return &m, nil
}
