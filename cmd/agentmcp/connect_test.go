package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/internal/apitest"
)

// TestServersConnect: `servers connect SLUG` against a real agentmcp prints the
// authorization URL; a browser (here an HTTP client) that follows it through the
// authorization server, which approves at once, lands on agentmcp's callback, and the
// command then exits 0 saying connected. With no approval, it gives up when --wait has
// passed, non-zero, saying how to start again.
func TestServersConnect(t *testing.T) {
	as := apitest.NewOAuthServer(t)
	mcpURL := as.ProtectedMCP(t)
	p := startServe(t, filepath.Join(t.TempDir(), "a.db"), "--probe-allow-private")
	key := p.printedKey(t)
	if out, errOut, code := cli(t, p, key, "servers", "create", "--name", "Protected", "--slug", "protected", "--server-url", mcpURL, "--oauth", "authorization_code"); code != 0 {
		t.Fatalf("create: %d %s %s", code, out, errOut)
	}

	cmd := exec.Command(bin, "servers", "connect", "protected")
	cmd.Env = append(os.Environ(), "AGENTMCP_URL="+p.base+"/v3", "AGENTMCP_API_KEY="+key)
	stdout, stderr := &apitest.SyncBuffer{}, &apitest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
	})
	printed := regexp.MustCompile(`\n  (http\S+)\n`)
	var authURL string
	for deadline := time.Now().Add(60 * time.Second); authURL == ""; time.Sleep(20 * time.Millisecond) {
		if m := printed.FindStringSubmatch(stdout.String()); m != nil {
			authURL = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("connect printed no URL:\n%s\n%s", stdout, stderr)
		}
	}
	resp, err := http.Get(authURL) // through the authorization server to agentmcp's callback
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `data-connected="true"`) || resp.Request.URL.Path != "/oauth/callback" {
		t.Fatalf("following the printed URL ended at %s: %d %s", resp.Request.URL, resp.StatusCode, page)
	}
	select {
	case err := <-done:
		if err != nil || !strings.Contains(stdout.String(), "connected protected\n") {
			t.Fatalf("connect after the approval: %v\n%s\n%s", err, stdout, stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("connect did not exit within 60 s of the approval:\n%s\n%s", stdout, stderr)
	}

	// It gives up: a short --wait is the promise under test here.
	out, errOut, code := cli(t, p, key, "servers", "connect", "protected", "--wait", "2s")
	if code == 0 || !strings.Contains(errOut, "protected was not connected within 2s: run 'agentmcp servers connect protected' again") {
		t.Fatalf("connect without an approval: %d\n%s\n%s", code, out, errOut)
	}
}
