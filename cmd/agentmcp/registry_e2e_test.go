package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// `apps registry` switches a running server's registry view from another process, at once
// (the server caches MCP servers; the view reads past the cache).
func TestAppsRegistry(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	p := startServe(t, db)
	key := p.printedKey(t)
	req, _ := http.NewRequest(http.MethodPost, p.base+"/v3/ai-agents/agent-builder/mcp-servers",
		strings.NewReader(`{"name":"Weather","slug":"weather","url":"https://w.example.com/mcp"}`))
	req.Header.Set("apikey", key)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %v %v", resp, err)
	}
	list := func() (int, string) {
		resp, err := http.Get(p.base + "/registry/default/v0.1/servers")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, _ := list(); st != http.StatusNotFound {
		t.Fatalf("off by default: %d", st)
	}
	if out, errOut, code := runCmd(t, "apps", "registry", "default", "--db", db); code != 0 || !strings.Contains(out, "off") {
		t.Fatalf("status: %d %q %q", code, out, errOut)
	}
	if out, errOut, code := runCmd(t, "apps", "registry", "default", "on", "--db", db); code != 0 || !strings.Contains(out, "on, at {server}/registry/default") {
		t.Fatalf("on: %d %q %q", code, out, errOut)
	}
	if st, body := list(); st != http.StatusOK || !strings.Contains(body, `/weather"`) || strings.Contains(body, key) {
		t.Fatalf("on: %d %s", st, body)
	}
	if _, _, code := runCmd(t, "apps", "registry", "default", "off", "--db", db); code != 0 {
		t.Fatal(code)
	}
	if st, _ := list(); st != http.StatusNotFound {
		t.Fatalf("off again: %d", st)
	}
	if _, errOut, code := runCmd(t, "apps", "registry", "nope", "on", "--db", db); code == 0 || !strings.Contains(errOut, "not found") {
		t.Fatalf("unknown app: %d %q", code, errOut)
	}
	if _, errOut, code := runCmd(t, "apps", "registry", "default", "maybe", "--db", db); code == 0 || !strings.Contains(errOut, "on or off") {
		t.Fatalf("bad switch: %d %q", code, errOut)
	}
}
