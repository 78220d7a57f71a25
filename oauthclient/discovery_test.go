package oauthclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agentmcp/agentmcp/probe"
)

// TestDiscoveryRefusesPrivateAddresses: an authorization server or metadata on a
// non-public address is refused by the probe's address policy, before any request reaches it.
func TestDiscoveryRefusesPrivateAddresses(t *testing.T) {
	var hits atomic.Int32
	private := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"issuer":"x"}`))
	}))
	defer private.Close()
	s := New(Options{Prober: probe.New(probe.Options{})})
	for name, ch := range map[string]challenge{
		"resource metadata": {ResourceMetadata: private.URL + "/.well-known/oauth-protected-resource"},
		"no metadata":       {},
	} {
		_, err := s.discover(context.Background(), private.URL+"/mcp", ch)
		if !errors.Is(err, ErrDiscovery) || !strings.Contains(err.Error(), "not public") {
			t.Errorf("%s: %v, want ErrDiscovery naming the address policy", name, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("%d requests reached the private address", hits.Load())
	}
}

// TestDiscoveryFollowsNoRedirectToAnotherOrigin: a metadata answer that redirects to another
// port of the same host is refused before anything reaches that port.
func TestDiscoveryFollowsNoRedirectToAnotherOrigin(t *testing.T) {
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"resource":"x","authorization_servers":["x"]}`))
	}))
	defer other.Close()
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer first.Close()
	s := New(Options{Prober: probe.New(probe.Options{AllowPrivate: true})})
	_, err := s.discover(context.Background(), first.URL+"/mcp", challenge{ResourceMetadata: first.URL + "/.well-known/oauth-protected-resource"})
	if !errors.Is(err, ErrDiscovery) {
		t.Errorf("discover through a cross-origin redirect: %v, want ErrDiscovery", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("%d requests followed the redirect to another origin", hits.Load())
	}
}

// TestScopeSelection: the challenge's scopes with the configured ones, else the configured
// ones, else the resource's scopes_supported, else none.
func TestScopeSelection(t *testing.T) {
	for _, c := range []struct {
		configured, challenged, supported []string
		want                              string
	}{
		{nil, []string{"a"}, []string{"b"}, "a"},
		{[]string{"c"}, []string{"a"}, []string{"b"}, "c a"},
		{[]string{"c"}, nil, []string{"b"}, "c"},
		{nil, nil, []string{"b"}, "b"},
		{nil, nil, nil, ""},
	} {
		if got := strings.Join(requestedScopes(c.configured, c.challenged, c.supported), " "); got != c.want {
			t.Errorf("requestedScopes(%v, %v, %v) = %q, want %q", c.configured, c.challenged, c.supported, got, c.want)
		}
	}
}
