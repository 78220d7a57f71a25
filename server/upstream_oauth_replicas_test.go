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

	for round, order := range [][2]string{{gwA, gwB}, {gwB, gwA}} {
		// The first replica's refresh is held at the authorization server until the second
		// replica's calls have been refused too, so the second asks while the first holds
		// the lease (it must wait for the new token, not take the refused one again).
		entered, release := make(chan struct{}, 1), make(chan struct{})
		as.SetBeforeRefresh(func() {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
		})
		before, _ := as.Counts()
		as.RevokeAccess()
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		calls := func(gw string) {
			for range 2 {
				wg.Go(func() {
					if out, err := callTool(t, gw, envA.KeyA); err != nil || out != "protected-ok" {
						errs <- fmt.Errorf("round %d, %s: %q, %v", round, gw, out, err)
					}
				})
			}
		}
		calls(order[0])
		select {
		case <-entered:
		case <-time.After(60 * time.Second):
			close(release)
			t.Fatalf("round %d: no refresh began within 60 s of the refused calls", round)
		}
		refused := as.Rejected()
		calls(order[1])
		// Bounded by the token request's own timeout, not by the promise: past it the
		// second replica may not have asked yet, and the counts below still hold.
		for end := time.Now().Add(5 * time.Second); as.Rejected() == refused && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		}
		close(release)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if after, _ := as.Counts(); after != before+1 {
			t.Fatalf("round %d: %d refreshes for one refused token across two replicas, want 1", round, after-before)
		}
	}
	as.SetBeforeRefresh(nil)
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
