package probe_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/probe"
)

// seen records the credential and Referer headers of the requests a server got.
type seen struct {
	mu   sync.Mutex
	auth []string
	ref  []string
}

func (s *seen) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if v := r.Header.Get("Authorization"); v != "" {
			s.auth = append(s.auth, v)
		}
		if v := r.Header.Get("Referer"); v != "" {
			s.ref = append(s.ref, v)
		}
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (s *seen) got() (auth, ref []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auth...), append([]string(nil), s.ref...)
}

// TestCredentialsStayOnTheirOrigin: stored credentials go only to the origin (scheme, host,
// port) of the URL they were stored for; a redirect to another port of the same host is
// followed without them, and no request ever carries a Referer (it would carry the URL and
// its query) — for probes, gateway sessions (Connect) and the gateway's raw calls.
func TestCredentialsStayOnTheirOrigin(t *testing.T) {
	s := mcpServer(1)
	var there seen
	target := httptest.NewServer(there.wrap(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)))
	defer target.Close()
	var here seen
	origin := httptest.NewServer(here.wrap(http.RedirectHandler(target.URL+"/mcp?api_key=QSECRET", http.StatusTemporaryRedirect)))
	defer origin.Close()
	header := probe.Header{"Authorization": {"Bearer stored-secret"}}
	check := func(what string) {
		t.Helper()
		auth, _ := here.got()
		if len(auth) == 0 {
			t.Fatalf("%s: the stored origin never got its credentials", what)
		}
		auth, ref := there.got()
		if len(auth) > 0 || len(ref) > 0 {
			t.Fatalf("%s: another port of the same host got Authorization %q and Referer %q", what, auth, ref)
		}
	}

	if r := local.Probe(context.Background(), origin.URL+"/mcp?api_key=QSECRET", header); r.Status != probe.StatusOK {
		t.Fatalf("probe through a same-host redirect: %+v", r)
	}
	check("probe")

	cs, err := local.Connect(context.Background(), origin.URL+"/mcp", header, mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "tool_0"}); err != nil {
		t.Fatal(err)
	}
	check("session")

	resp, err := local.SessionHTTPClient(header).Post(origin.URL+"/mcp", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	check("raw call")
}
