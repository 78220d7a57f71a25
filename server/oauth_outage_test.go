package server_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/server/oauth"
)

// TestOAuthTokensThroughADatabaseOutage: PostgreSQL stopped, the gateway keeps accepting
// the OAuth access tokens it verified before (as it does API keys), within
// --last-known-for; a token whose grant was revoked before the outage (in the console, or
// by the client at the token endpoint, neither used since) stays refused (401); a token
// never seen gets 503 (it may be valid); past the bound, the verified one gets 503 too.
func TestOAuthTokensThroughADatabaseOutage(t *testing.T) {
	cl, st := stoppablePostgres(t)
	ctx := context.Background()
	const bound = 20 * time.Second
	e := newOAuthEnv(t, st, func(cfg *app.Config) { cfg.LastKnownFor = bound })
	id := e.register("http://127.0.0.1:8123/callback")
	grant := func(uid string) tokens { return e.grant(id, "http://127.0.0.1:8123/callback", uid) }
	// The one grant of agent-2 is revoked in the console (grants made within a millisecond
	// have no order to pick one of agent-1's by).
	seen, revokedInConsole, revokedByClient, unseen := grant("agent-1"), grant("agent-2"), grant("agent-1"), grant("agent-1")
	for uid, tk := range map[string]tokens{"agent-1": seen, "agent-2": revokedInConsole} {
		if status, _ := e.gatewayStatus(uid, tk.AccessToken); status != http.StatusOK {
			t.Fatalf("a granted token before the outage: %d", status)
		}
	}
	if status, _ := e.gatewayStatus("agent-1", revokedByClient.AccessToken); status != http.StatusOK {
		t.Fatalf("a granted token before the outage: %d", status)
	}
	if status, _ := e.gatewayStatus("agent-2", seen.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("agent-1's token at agent-2 before the outage: %d", status)
	}
	g := e.Gen(t, e.KeyA)
	gl, err := g.AgentOAuthControllerListGrantsWithResponse(ctx, "agent-2")
	if err != nil || gl.JSON200 == nil || len(gl.JSON200.Data) != 1 {
		t.Fatalf("list grants: %v", err)
	}
	if gr, err := g.AgentOAuthControllerRevokeGrantWithResponse(ctx, "agent-2", gl.JSON200.Data[0].Id); err != nil || gr.StatusCode() != http.StatusOK {
		t.Fatalf("revoke grant: %v", err)
	}
	if resp := e.form(oauth.RevokePath, url.Values{"token": {revokedByClient.RefreshToken}, "client_id": {id}}, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}

	cl.Stop(t)
	if status, _ := e.gatewayStatus("agent-1", seen.AccessToken); status != http.StatusOK {
		t.Fatalf("a token verified before the outage, during it: %d, want 200", status)
	}
	if status, _ := e.gatewayStatus("agent-2", seen.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("agent-1's token at agent-2 during the outage: %d, want 401", status)
	}
	for name, c := range map[string]struct {
		uid string
		tk  tokens
	}{"in the console": {"agent-2", revokedInConsole}, "by the client": {"agent-1", revokedByClient}} {
		if status, _ := e.gatewayStatus(c.uid, c.tk.AccessToken); status != http.StatusUnauthorized {
			t.Fatalf("a token revoked %s before the outage, during it: %d, want 401", name, status)
		}
	}
	if status, _ := e.gatewayStatus("agent-1", unseen.AccessToken); status != http.StatusServiceUnavailable {
		t.Fatalf("a token never verified, during the outage: %d, want 503", status)
	}
	pollUntil(t, bound+30*time.Second, "the verified token refused past the bound", func() bool {
		status, _ := e.gatewayStatus("agent-1", seen.AccessToken)
		return status == http.StatusServiceUnavailable
	})
}
