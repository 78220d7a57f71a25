package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/internal/pgtest"
	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/postgres"
)

const knownToken = "tok-7c1f9e0b6a2d4f8e9b3c5a1d7e2f4b6c"

func TestCredentialsSQLite(t *testing.T) {
	st := apitest.OpenSQLite(t)
	credentials(t, st, func() []byte {
		var all []byte
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, _ := os.ReadFile(st.Path() + suffix)
			all = append(all, b...)
		}
		return all
	})
}

func TestCredentialsPostgres(t *testing.T) {
	url := pgtest.NewDatabase(t)
	st, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	credentials(t, st, func() []byte {
		bin := filepath.Join(os.Getenv("AGENTMCP_TEST_PG_BIN"), "pg_dump")
		out, err := exec.Command(bin, "--data-only", url).Output()
		if err != nil {
			t.Fatalf("pg_dump: %v", err)
		}
		return out
	})
}

// credentials: the full round trip — stored sealed, shown as type and header names only,
// used by probes (auth_required → ok) and kept or removed by PATCH — and the known token in
// no response, audit event, metric or database file.
func credentials(t *testing.T, st store.Store, dump func() []byte) {
	ctx := context.Background()
	up := newUpstream(t, "secure", 1, knownToken, nil)
	hdr := newUpstream(t, "hdr", 1, "", nil)
	// Four probes of one app at once below: slots for all of them (the default gives an app two).
	cfg := app.Config{Credentials: testCredentials(t, st), Prober: probe.New(probe.Options{AllowPrivate: true, Timeout: 5 * time.Second}),
		ProbeSlots: probe.NewSlots(4, 4)}
	env := apitest.Start(t, st, cfg)
	c := env.Client(t, env.KeyA)
	g := env.Gen(t, env.KeyA)

	// Without credentials the probe says auth_required.
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "S", Slug: "secure", Url: up.URL}); err != nil {
		t.Fatal(err)
	}
	if p, err := c.ProbeServer(ctx, "secure"); err != nil || p.Status != "auth_required" {
		t.Fatalf("probe without credentials: %+v %v", p, err)
	}
	token := knownToken
	ur, _ := g.McpServersControllerUpdateMcpServerWithResponse(ctx, "secure", nil, gen.UpdateMcpServerDto{Auth: &gen.McpServerAuthInput{Type: "bearer", Token: &token}})
	if ur.StatusCode() != 200 || ur.JSON200.Auth == nil || ur.JSON200.Auth.Type != "bearer" || !ur.JSON200.Auth.Configured {
		t.Fatalf("PATCH auth: %s", ur.Body)
	}
	if p, err := c.ProbeServer(ctx, "secure"); err != nil || p.Status != "ok" || p.ToolCount != 1 {
		t.Fatalf("probe with the token: %+v %v", p, err)
	}
	// PATCH without auth keeps it.
	if _, err := c.UpdateServer(ctx, "secure", client.UpdateMCPServer{Name: ptr("Renamed")}); err != nil {
		t.Fatal(err)
	}
	if p, _ := c.ProbeServer(ctx, "secure"); p.Status != "ok" {
		t.Fatalf("credentials lost by a PATCH without auth: %+v", p)
	}
	// Headers credentials: names shown, values not.
	hv := map[string]string{"X-Api-Key": knownToken, "X-Tenant": "t1"}
	cr, _ := g.McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{Name: "H", Slug: "hdr", Url: hdr.URL, Auth: &gen.McpServerAuthInput{Type: "headers", Headers: hv}})
	if cr.StatusCode() != 201 || strings.Join(cr.JSON201.Auth.HeaderNames, ",") != "X-Api-Key,X-Tenant" {
		t.Fatalf("create with headers: %s", cr.Body)
	}
	if p, _ := c.ProbeServer(ctx, "hdr"); p.Status != "ok" || !hdr.sawHeader("X-Api-Key", knownToken) {
		t.Fatalf("the probe did not send the stored headers: %+v", p)
	}

	// Bad credentials: 400 naming the field, nothing stored.
	for _, bad := range []gen.McpServerAuthInput{
		{Type: "bearer"},
		{Type: "headers", Headers: map[string]string{"Host": "x"}},
		{Type: "headers", Headers: map[string]string{"Bad Name": "x"}},
		{Type: "headers", Headers: map[string]string{"X-A": "line\r\nbreak"}},
		{Type: "headers", Headers: map[string]string{"Mcp-Session-Id": "x"}},
		{Type: "headers", Headers: map[string]string{"X-A": strings.Repeat("v", 9000)}},
	} {
		r, _ := g.McpServersControllerUpdateMcpServerWithResponse(ctx, "hdr", nil, gen.UpdateMcpServerDto{Auth: &bad})
		e := wantError(t, r.StatusCode(), r.Body, http.StatusBadRequest, httpx.CodeValidation)
		if len(e.Details) == 0 || !strings.HasPrefix(e.Details[0].Field, "auth") {
			t.Fatalf("%+v: %s", bad, r.Body)
		}
	}
	if s, _ := c.GetServer(ctx, "hdr"); strings.Join(s.Auth.HeaderNames, ",") != "X-Api-Key,X-Tenant" {
		t.Fatalf("a refused PATCH changed the credentials: %+v", s.Auth)
	}

	// Everything a client can read, and the database itself, lacks the token.
	var seen bytes.Buffer
	for _, path := range []string{"/ai-agents/agent-builder/mcp-servers", "/ai-agents/agent-builder/mcp-servers/secure",
		"/ai-agents/agent-builder/mcp-servers/hdr", "/ai-agents/agent-builder/audit-events?limit=100", "/ai-agents/agent-builder/mcp-servers/hdr/tools"} {
		_, body := env.Raw(t, http.MethodGet, path, env.KeyA, "", nil)
		seen.Write(body)
	}
	resp, err := http.Get(env.Server.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(&seen, resp.Body)
	resp.Body.Close()
	seen.Write(dump())
	if bytes.Contains(seen.Bytes(), []byte(knownToken)) {
		t.Fatal("the known token appears in a response, the audit trail, /metrics or the database")
	}
	if !bytes.Contains(seen.Bytes(), []byte(`"headerNames":["X-Api-Key","X-Tenant"]`)) {
		t.Fatal("the audit trail or the responses do not say which headers are configured")
	}

	// {"type":"none"} removes them.
	nr, _ := g.McpServersControllerUpdateMcpServerWithResponse(ctx, "secure", nil, gen.UpdateMcpServerDto{Auth: &gen.McpServerAuthInput{Type: "none"}})
	if nr.StatusCode() != 200 || nr.JSON200.Auth != nil {
		t.Fatalf("remove auth: %s", nr.Body)
	}
	if p, _ := c.ProbeServer(ctx, "secure"); p.Status != "auth_required" {
		t.Fatalf("probe after removal: %+v", p)
	}

	// Rotation: every secret re-sealed under a new keeper; the old data key is dropped.
	old := cfg.Credentials.Ring
	next, err := keyring.OpenTarget(ctx, st, "base64key://AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	if err != nil {
		t.Fatal(err)
	}
	// Requests in flight: probes that open the credentials while the rotation runs.
	stopProbes := make(chan struct{})
	var probeErrs, probesDone atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stopProbes:
					return
				default:
				}
				if p, err := c.ProbeServer(ctx, "hdr"); err != nil || p.Status != "ok" {
					probeErrs.Add(1)
				}
				probesDone.Add(1)
			}
		})
	}
	// probes waits for n more probes to finish: some ran across the rotation, some after it.
	probes := func(n int64) {
		t.Helper()
		want := probesDone.Load() + n
		for deadline := time.Now().Add(30 * time.Second); probesDone.Load() < want; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d probes finished in 30 s", probesDone.Load(), want)
			}
		}
	}
	probes(4)
	res, err := keyring.Rotate(ctx, old, next)
	probes(8)
	close(stopProbes)
	wg.Wait()
	if err != nil || res.Resealed != 1 || len(res.Dropped) == 0 {
		t.Fatalf("rotate: %+v %v", res, err)
	}
	if n := probeErrs.Load(); n > 0 {
		t.Fatalf("%d probes failed while the credentials were rotated", n)
	}
	if p, _ := c.ProbeServer(ctx, "hdr"); p.Status != "ok" { // the running server, on the old keeper
		t.Fatalf("probe during the rotation: %+v", p)
	}
	fresh, err := keyring.Open(ctx, st, "base64key://AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	if err != nil {
		t.Fatalf("the new keeper alone: %v", err)
	}
	got, err := (&keyring.Service{Ring: fresh, Store: st}).Credentials(ctx, env.AppA, "hdr")
	if err != nil || got.Headers["X-Api-Key"] != knownToken {
		t.Fatalf("open after rotation: %v", err)
	}
	// A keeper that opens nothing stored is an error at start-up.
	if _, err := keyring.Open(ctx, st, "base64key://BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA="); err == nil || !strings.Contains(err.Error(), "--secrets-keeper") {
		t.Fatalf("wrong keeper at start-up: %v", err)
	}
	if _, err := keyring.Open(ctx, st, ""); err == nil {
		t.Fatal("no keeper with sealed credentials: no error")
	}
}
