package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/store/sqlite"
)

// TestSecretsRotateOAuth: `secrets rotate` re-seals a server's OAuth tokens (with the client
// agentmcp registered) and an authorization in flight, not only its credentials: after the
// rotation and --finish, agentmcp started with the new keeper sends the tokens, refreshes
// them and completes the authorization begun before, and the old keeper opens nothing.
func TestSecretsRotateOAuth(t *testing.T) {
	as := apitest.NewOAuthServer(t)
	mcpURL := as.ProtectedMCP(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	oldKeeper, newKeeper := "base64key://"+strings.Repeat("C", 43)+"=", "base64key://"+strings.Repeat("D", 43)+"="
	newFile := filepath.Join(dir, "new-keeper")
	if err := os.WriteFile(newFile, []byte(newKeeper+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	p := startServe(t, db, "--probe-allow-private", "--secrets-keeper", oldKeeper)
	key := p.printedKey(t)
	if out, errOut, code := cli(t, p, key, "servers", "create", "--name", "Protected", "--slug", "protected", "--server-url", mcpURL, "--oauth", "authorization_code"); code != 0 {
		t.Fatalf("create: %d %s %s", code, out, errOut)
	}
	c, err := client.New(p.base+"/v3", key)
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.AuthorizeServer(ctx, "protected")
	if err != nil {
		t.Fatal(err)
	}
	if status, page := get(t, u); status != http.StatusOK || !strings.Contains(page, `data-connected="true"`) {
		t.Fatalf("connect: %d %s", status, page)
	}
	pending, err := c.AuthorizeServer(ctx, "protected") // followed only after the rotation
	if err != nil {
		t.Fatal(err)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := runCmd(t, "secrets", "rotate", "--db", db, "--secrets-keeper", oldKeeper, "--to-file", newFile)
	if code != 0 || !strings.Contains(out, "re-sealed 3 ") { // credentials, tokens, the authorization in flight
		t.Fatalf("rotate: %d %s %s", code, out, errOut)
	}
	if out, errOut, code := runCmd(t, "secrets", "rotate", "--db", db, "--to-file", newFile, "--finish"); code != 0 {
		t.Fatalf("rotate --finish: %d %s %s", code, out, errOut)
	}
	st, err := sqlite.Open(ctx, db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Open(ctx, st, oldKeeper); err == nil || !strings.Contains(err.Error(), "--secrets-keeper") {
		t.Fatalf("the old keeper after --finish: %v, want it to open nothing", err)
	}
	st.Close()

	p = startServe(t, db, "--probe-allow-private", "--secrets-keeper", newKeeper)
	c, _ = client.New(p.base+"/v3", key)
	if r, err := c.ProbeServer(ctx, "protected"); err != nil || r.Status != "ok" {
		t.Fatalf("a probe with the re-sealed tokens: %+v, %v", r, err)
	}
	before, _ := as.Counts()
	as.RevokeAccess()
	if r, err := c.ProbeServer(ctx, "protected"); err != nil || r.Status != "ok" {
		t.Fatalf("a probe that refreshes with the re-sealed refresh token and client: %+v, %v", r, err)
	}
	if after, _ := as.Counts(); after != before+1 {
		t.Fatalf("%d refreshes, want 1", after-before)
	}
	if status, page := get(t, p.base+apitest.Approve(t, pending).RequestURI()); status != http.StatusOK || !strings.Contains(page, `data-connected="true"`) {
		t.Fatalf("the authorization begun before the rotation: %d %s", status, page)
	}
}

// get follows url (redirects included) and returns the last status and page.
func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
