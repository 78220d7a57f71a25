package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/server/gateway/admission"
)

// TestOAuthStreamEndsAtOnceOnRevocation: revoking an OAuth grant in the console ends the
// event streams opened with its access token at once (the revocation is on the feed under
// the grant's key id), not at the next recheck (an hour here).
func TestOAuthStreamEndsAtOnceOnRevocation(t *testing.T) {
	e := newOAuthEnv(t, apitest.OpenSQLite(t), func(cfg *app.Config) { cfg.Admission = admission.Options{Recheck: time.Hour} })
	id := e.register("http://127.0.0.1:8123/callback")
	tk := e.grant(id, "http://127.0.0.1:8123/callback", "agent-1")
	w := &streamWatch{key: tk.AccessToken}
	streamingClient(t, e.Env, "agent-1", w)
	waitUntil(t, "the stream to open", func() bool { return w.opened.Load() == 1 })
	g := e.Gen(t, e.KeyA)
	gl, err := g.AgentOAuthControllerListGrantsWithResponse(context.Background(), "agent-1")
	if err != nil || gl.JSON200 == nil || len(gl.JSON200.Data) != 1 {
		t.Fatalf("list grants: %v", err)
	}
	if gr, err := g.AgentOAuthControllerRevokeGrantWithResponse(context.Background(), "agent-1", gl.JSON200.Data[0].Id); err != nil || gr.StatusCode() != http.StatusOK {
		t.Fatalf("revoke grant: %v", err)
	}
	waitUntil(t, "the revoked grant's stream to end", func() bool { return w.ended.Load() > 0 })
}
