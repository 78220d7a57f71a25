package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/internal/pgtest"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/gateway"
	"github.com/agentmcp/agentmcp/store/postgres"
)

// TestUpstreamOAuthTwoReplicasPostgres: two replicas on one PostgreSQL database, each its
// own process state (store, keyring, singleflight, gateway pool). A person connects the
// server through A; calls go through B. When the access token stops working, calls on both
// replicas at once get one refresh between them (the store's lease, not a process's
// singleflight): the rotating refresh token is spent once, and the one it was rotated to
// still renews on either replica.
func TestUpstreamOAuthTwoReplicasPostgres(t *testing.T) {
	db := pgtest.NewDatabase(t)
	as := apitest.NewOAuthServer(t)
	mcpURL := as.ProtectedMCP(t)
	cfg := func() app.Config {
		loopback := probe.New(probe.Options{AllowPrivate: true, Timeout: 10 * time.Second})
		return app.Config{SecretsKeeper: "base64key://" + strings.Repeat("B", 43) + "=", Prober: loopback, Probe: probe.Options{AllowPrivate: true},
			PublicURL: publicBase, Gateway: gateway.Options{Connector: loopback, CallTimeout: 30 * time.Second}}
	}
	open := func() *postgres.Store {
		st, err := postgres.Open(context.Background(), db, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	envA := apitest.Start(t, open(), cfg())
	b := apitest.New(t, open(), cfg())
	srvB := httptest.NewServer(b.Handler())
	t.Cleanup(func() { srvB.CloseClientConnections(); srvB.Close() })
	ctx := context.Background()

	cA := envA.Client(t, envA.KeyA)
	grant := gen.McpServerAuthInputGrantAuthorizationCode
	if _, err := cA.CreateServer(ctx, client.CreateMCPServer{Name: "Protected", Slug: "protected", Url: mcpURL,
		Auth: &client.AuthInput{Type: gen.McpServerAuthInputTypeOauth, Grant: &grant}}); err != nil {
		t.Fatal(err)
	}
	uid := "oauth-agent"
	if _, err := cA.CreateAgent(ctx, client.CreateAgent{Name: "OAuth", Uid: &uid, McpServers: &[]string{"protected"}}); err != nil {
		t.Fatal(err)
	}
	original := client.ToolNamesOriginal
	if _, err := cA.UpdateAgent(ctx, uid, client.UpdateAgent{Gateway: &client.AgentGatewayInput{ToolNames: &original}}); err != nil {
		t.Fatal(err)
	}
	u, err := cA.AuthorizeServer(ctx, "protected")
	if err != nil {
		t.Fatal(err)
	}
	if status, body := follow(t, envA, u); status != http.StatusOK {
		t.Fatalf("callback through A: %d %s", status, body)
	}
	path := "/v3/ai-agents/agent-builder/agents/" + uid + "/mcp"
	gwA, gwB := envA.Server.URL+path, srvB.URL+path
	if out, err := callTool(t, gwB, envA.KeyA); err != nil || out != "protected-ok" {
		t.Fatalf("connected through A, a call through B: %q, %v", out, err)
	}

	rejected := as.Rejected
	for round := range 2 {
		// Hold the refresh until every call has had its 401, so both replicas ask for a
		// renewal while it is in flight (the wait is bounded; past it the check still holds).
		base := rejected()
		as.SetBeforeRefresh(func() {
			for end := time.Now().Add(20 * time.Second); rejected()-base < 4 && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			}
		})
		before, _ := as.Counts()
		as.RevokeAccess()
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for _, gw := range []string{gwA, gwB, gwA, gwB} {
			wg.Go(func() {
				if out, err := callTool(t, gw, envA.KeyA); err != nil || out != "protected-ok" {
					errs <- fmt.Errorf("round %d, %s: %q, %v", round, gw, out, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if after, _ := as.Counts(); after != before+1 {
			t.Fatalf("round %d: %d refreshes for one refused token across two replicas, want 1", round, after-before)
		}
		if n := rejected() - base; n < 4 {
			t.Fatalf("round %d: only %d calls were refused before the refresh", round, n)
		}
	}
	for _, c := range []*client.Client{cA, mustClient(t, srvB.URL+"/v3", envA.KeyA)} {
		if m, err := c.GetServer(ctx, "protected"); err != nil || !*m.Auth.Connected || m.Auth.Problem != nil {
			t.Fatalf("after two renewals across replicas: %+v, %v", m.Auth, err)
		}
	}
}

func mustClient(t *testing.T, base, key string) *client.Client {
	t.Helper()
	c, err := client.New(base, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
