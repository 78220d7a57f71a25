package server_test

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/gateway"
	"github.com/agentmcp/agentmcp/store"
)

// servePublic serves the production stack at a listener it knows before building it, so
// its public URL (the base of /oauth/callback) is the address a browser reaches; it seeds
// app-a and returns the base URL and a fullAccess key of it.
func servePublic(t *testing.T, st store.Store, cfg app.Config) (string, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg.PublicURL, cfg.KeyCacheTTL = base, -1
	a := apitest.New(t, st, cfg)
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	if _, err := a.Store().CreateApp(context.Background(), "app-a"); err != nil {
		t.Fatal(err)
	}
	_, key := apitest.NewKey(t, a.Store(), "app-a", store.ScopeFullAccess)
	return base, key
}

// TestConsoleConnectsOAuthServer: on the page of a server that takes OAuth, a person clicks
// Connect; a new tab goes through the authorization server (which approves at once) to
// agentmcp's callback, and the page then says connected. Once every token is revoked and
// a probe has failed to refresh, the button says Reconnect, and reconnecting works again.
func TestConsoleConnectsOAuthServer(t *testing.T) {
	root := startChromium(t)
	as := apitest.NewOAuthServer(t)
	mcpURL := as.ProtectedMCP(t)
	st := apitest.OpenSQLite(t)
	loopback := probe.New(probe.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	base, key := servePublic(t, st, app.Config{Credentials: apitest.Credentials(t, st), Prober: loopback, Probe: probe.Options{AllowPrivate: true},
		Logger: slog.New(slog.DiscardHandler), Gateway: gateway.Options{Connector: loopback, CallTimeout: 30 * time.Second}})
	api, err := client.New(base+"/v3", key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	grant := gen.McpServerAuthInputGrantAuthorizationCode
	must(api.CreateServer(ctx, client.CreateMCPServer{Name: "Protected", Slug: "protected", Url: mcpURL,
		Auth: &client.AuthInput{Type: gen.McpServerAuthInputTypeOauth, Grant: &grant}}))(t)

	b := newTab(t, root)
	b.viewport(1280, 900)
	b.open(base + "/console/")
	b.waitText("Sign in to agentmcp")
	b.fill("#main input[name=apikey]", key)
	b.keys("\r")
	b.waitText("1 server shown.") // the list has loaded: nothing after sign-in moves the page any more
	b.open(base + "/console/#/servers/protected")
	b.waitText("not connected")
	if eval[bool](b, `[...document.querySelectorAll("button")].some((e) => e.innerText.trim() === "Reconnect")`) {
		b.fail("a server never connected offers Reconnect")
	}
	state := `(document.querySelector(".oauth-state strong") || {innerText: ""}).innerText`
	b.click(button("Connect"))
	b.waitJS("the page saying connected", state+` === "connected"`)
	b.waitText("Connected.")
	if m, err := api.GetServer(ctx, "protected"); err != nil || !*m.Auth.Connected {
		t.Fatalf("after Connect in the console: %+v, %v", m.Auth, err)
	}

	as.RevokeAll()
	b.click(button("Probe now"))
	b.waitText("invalid_grant")
	b.waitJS("the page saying not connected", state+` === "not connected"`)
	b.waitJS("the Reconnect button", `[...document.querySelectorAll("button")].some((e) => e.innerText.trim() === "Reconnect")`)
	b.click(button("Reconnect"))
	b.waitJS("the page saying connected again", state+` === "connected"`)
	if r, err := api.ProbeServer(ctx, "protected"); err != nil || r.Status != "ok" {
		t.Fatalf("a probe after Reconnect in the console: %+v, %v", r, err)
	}
	b.clean()
}
