package probe_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/probe"
)

// renewing is an Auth whose token the server refuses until Refused renews it.
type renewing struct {
	mu      sync.Mutex
	token   string
	refused int
	renew   bool // renew on a refusal (else: no, with a reason)
}

func (a *renewing) Header(context.Context) (http.Header, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return http.Header{"Authorization": {"Bearer " + a.token}}, nil
}

func (a *renewing) Refused(_ context.Context, resp *http.Response, sent http.Header) (http.Header, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refused++
	if !a.renew {
		return nil, errors.New("refresh refused: invalid_grant")
	}
	a.token = "new"
	return http.Header{"Authorization": {"Bearer new"}}, nil
}

// TestAuthRenewsOnceAfter401: a refused request is sent again once with the renewed
// credentials; when they cannot be renewed the probe says auth_required with the reason,
// having asked once per refused request, never again for a request it did not renew.
func TestAuthRenewsOnceAfter401(t *testing.T) {
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return mcpServer(1) }, nil)
	var mu sync.Mutex
	refusals := 0
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer new" {
			mu.Lock()
			refusals++
			mu.Unlock()
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	a := &renewing{token: "old", renew: true}
	if r := local.Probe(context.Background(), srv.URL+"/mcp", a); r.Status != probe.StatusOK || a.refused != 1 {
		t.Fatalf("a renewable token: %s %q after %d refusals", r.Status, r.Error, a.refused)
	}
	mu.Lock()
	refusals = 0
	mu.Unlock()
	stuck := &renewing{token: "old"}
	r := local.Probe(context.Background(), srv.URL+"/mcp", stuck)
	mu.Lock()
	defer mu.Unlock()
	if r.Status != probe.StatusAuthRequired || !strings.Contains(r.Error, "invalid_grant") || stuck.refused != refusals || len(r.Challenge) != 1 {
		t.Fatalf("a token that cannot be renewed: %s %q after %d refusals, challenge %q", r.Status, r.Error, stuck.refused, r.Challenge)
	}
}
