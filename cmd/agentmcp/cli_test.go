package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/agentmcp/agentmcp/client"
)

// cli runs the real binary as a client of p with key; it returns stdout, stderr and the exit code.
func cli(t *testing.T, p *proc, key string, args ...string) (string, string, int) {
	t.Helper()
	return runEnv(t, []string{"AGENTMCP_URL=" + p.base + "/v3", "AGENTMCP_API_KEY=" + key}, args...)
}

// apiBody is what the API itself answers, for comparing with `-o json`.
func apiBody(t *testing.T, p *proc, key, path string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.base+"/v3"+path, nil)
	req.Header.Set("apikey", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestCLI(t *testing.T) {
	p := startServe(t, filepath.Join(t.TempDir(), "a.db"))
	key := p.printedKey(t)
	const base = "/ai-agents/agent-builder/mcp-servers"

	out, errOut, code := cli(t, p, key, "servers", "create", "--name", "Weather Server", "--slug", "weather", "--server-url", "https://w.example.com/mcp", "--description", "Forecasts")
	if code != 0 || !strings.Contains(out, "slug:         weather") || !strings.Contains(out, "description:  Forecasts") {
		t.Fatalf("create: %d %q %q", code, out, errOut)
	}
	out, _, code = cli(t, p, key, "servers", "create", "--name", "Git", "--slug", "git", "--server-url", "https://g.example.com/mcp", "-o", "json")
	var created client.MCPServer
	if code != 0 || json.Unmarshal([]byte(out), &created) != nil || created.Slug != "git" || created.Description != "" {
		t.Fatalf("create -o json: %d %q", code, out)
	}

	// -o json is exactly the API's JSON.
	for _, c := range []struct {
		args []string
		path string
	}{
		{[]string{"servers", "get", "weather", "-o", "json"}, base + "/weather"},
		{[]string{"servers", "list", "-o", "json"}, base},
		{[]string{"servers", "list", "--limit", "1", "-o", "json"}, base + "?limit=1"},
	} {
		out, _, code := cli(t, p, key, c.args...)
		if want := apiBody(t, p, key, c.path); code != 0 || out != want {
			t.Fatalf("%v:\n got %q\nwant %q", c.args, out, want)
		}
	}

	out, _, _ = cli(t, p, key, "servers", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "SLUG") || !strings.HasPrefix(lines[1], "git ") || !strings.HasPrefix(lines[2], "weather ") ||
		strings.Index(lines[1], "https://") != strings.Index(lines[2], "https://") {
		t.Fatalf("list table:\n%s", out)
	}
	out, _, _ = cli(t, p, key, "servers", "list", "--all", "--limit", "1", "-o", "json")
	var all []client.MCPServer
	if json.Unmarshal([]byte(out), &all) != nil || len(all) != 2 {
		t.Fatalf("list --all: %s", out)
	}

	out, _, code = cli(t, p, key, "servers", "update", "weather", "--description", "")
	if code != 0 || !strings.Contains(out, "name:         Weather Server") || strings.Contains(out, "Forecasts") {
		t.Fatalf("update: %d %s", code, out)
	}

	// Exit codes and messages.
	for _, c := range []struct {
		key  string
		args []string
		code int
		msg  string
	}{
		{key, []string{"servers", "get", "nope"}, exitNotFound, "ERR_MCP_SERVER_NOT_FOUND"},
		{key, []string{"servers", "create", "--name", "W", "--slug", "weather", "--server-url", "https://x.example.com"}, exitConflict, "ERR_SLUG_ALREADY_EXISTS"},
		{"amk_wrong", []string{"servers", "list"}, exitAuth, "AUTH_ERR_APIKEY_NOT_FOUND"},
		{key, []string{"servers", "create", "--name", "W", "--slug", "Bad Slug", "--server-url", "ftp://x"}, exitValidation, "slug:"},
		{key, []string{"servers", "list", "--url", "http://127.0.0.1:1/v3"}, exitOther, "connect"},
		{key, []string{"servers", "get"}, exitUsage, "accepts 1 arg"},
		{key, []string{"servers", "update", "weather"}, exitUsage, "nothing to change"},
		{key, []string{"servers", "list", "--url", "ftp://x"}, exitUsage, `agentmcp: API base URL "ftp://x"`},
		{key, []string{"servers", "connect", "weather"}, exitConflict, "ERR_NOT_OAUTH"},
		{key, []string{"servers", "create", "--name", "O", "--slug", "o", "--server-url", "https://o.example.com/mcp", "--oauth", "client_credentials"}, exitValidation, "auth.clientId"},
	} {
		_, errOut, code := cli(t, p, c.key, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) || strings.Contains(errOut, "agentmcp: agentmcp:") {
			t.Errorf("%v: exit %d, want %d; stderr %q", c.args, code, c.code, errOut)
		}
	}

	// Agents.
	c, _ := client.New(p.base+"/v3", key)
	if _, err := c.CreateAgent(context.Background(), client.CreateAgent{Uid: ptr("bot"), Name: "Bot"}); err != nil {
		t.Fatal(err)
	}
	out, _, code = cli(t, p, key, "agents", "attach", "bot", "weather", "git")
	if code != 0 || !strings.Contains(out, "mcpServers:   weather, git") {
		t.Fatalf("attach: %d %s", code, out)
	}
	out, _, code = cli(t, p, key, "agents", "detach", "bot", "weather", "-o", "json")
	if code != 0 || !strings.Contains(out, `"mcpServers":["git"]`) {
		t.Fatalf("detach: %d %s", code, out)
	}
	if _, errOut, code := cli(t, p, key, "agents", "attach", "bot", "ghost"); code != exitValidation || !strings.Contains(errOut, "ERR_MCP_SERVER_NOT_FOUND") {
		t.Fatalf("attach unknown: %d %s", code, errOut)
	}
	// The gateway's tool names: set on create and update, shown, refused when unknown.
	out, _, code = cli(t, p, key, "agents", "create", "--uid", "named", "--name", "Named", "--tool-names", "original", "--mcp", "weather")
	if code != 0 || !strings.Contains(out, "toolNames:    original") {
		t.Fatalf("create --tool-names: %d %s", code, out)
	}
	out, _, code = cli(t, p, key, "agents", "update", "named", "--tool-names", "prefixed", "-o", "json")
	if code != 0 || !strings.Contains(out, `"gateway":{"pinning":"enforce","toolNames":"prefixed"}`) {
		t.Fatalf("update --tool-names: %d %s", code, out)
	}
	if _, errOut, code := cli(t, p, key, "agents", "update", "named", "--tool-names", "bare"); code != exitUsage || !strings.Contains(errOut, "--tool-names must be prefixed or original") {
		t.Fatalf("update --tool-names bare: %d %s", code, errOut)
	}
	// The tool policy: --pinning, the changes, approval by a hash no longer pending refused.
	out, _, code = cli(t, p, key, "agents", "update", "named", "--pinning", "warn")
	if code != 0 || !strings.Contains(out, "pinning:      warn") {
		t.Fatalf("update --pinning: %d %s", code, out)
	}
	if _, errOut, code := cli(t, p, key, "agents", "update", "named", "--pinning", "strict"); code != exitUsage || !strings.Contains(errOut, "--pinning must be") {
		t.Fatalf("update --pinning strict: %d %s", code, errOut)
	}
	// Allow-lists and renames: the flags give the whole policy; a bad rename is refused by the API.
	out, _, code = cli(t, p, key, "agents", "update", "named", "--allow", "weather=forecast", "--rename", "weather:forecast=weather_now", "-o", "json")
	if code != 0 || !strings.Contains(out, `"servers":{"weather":{"allow":["forecast"],"rename":{"forecast":"weather_now"}}}`) {
		t.Fatalf("update --allow --rename: %d %s", code, out)
	}
	if _, errOut, code := cli(t, p, key, "agents", "update", "named", "--rename", "weather:forecast=bad name"); code != exitValidation || !strings.Contains(errOut, "gateway.servers") {
		t.Fatalf("update --rename to a bad name: %d %s", code, errOut)
	}
	if _, errOut, code := cli(t, p, key, "agents", "update", "named", "--rename", "weather=x"); code != exitUsage || !strings.Contains(errOut, "--rename takes SLUG:TOOL=NEW") {
		t.Fatalf("update --rename malformed: %d %s", code, errOut)
	}
	if out, _, code = cli(t, p, key, "agents", "tool-changes", "named"); code != 0 || !strings.Contains(out, "no tool changes") {
		t.Fatalf("tool-changes: %d %s", code, out)
	}
	if _, errOut, code := cli(t, p, key, "agents", "approve", "named", strings.Repeat("0", 64)); code != exitConflict || !strings.Contains(errOut, "ERR_TOOL_CHANGE_STALE") {
		t.Fatalf("approve a stale hash: %d %s", code, errOut)
	}

	// Probe and tools: this server blocks private addresses (the default), so a probe of a
	// loopback URL is "blocked", and there are no tools yet.
	if _, _, code := cli(t, p, key, "servers", "create", "--name", "Local", "--slug", "local", "--server-url", "http://127.0.0.1:9/mcp"); code != 0 {
		t.Fatal("create local")
	}
	out, errOut, code = cli(t, p, key, "servers", "probe", "local")
	if code != 14 || !strings.Contains(out, "status:    blocked") || !strings.Contains(out, "(start agentmcp with --probe-allow-private to allow private addresses for local development)") ||
		errOut != "agentmcp: probe of local: blocked\n" {
		t.Fatalf("probe: %d %s %s", code, out, errOut)
	}
	if out, _, _ := cli(t, p, key, "servers", "get", "local"); !strings.Contains(out, "health:       blocked, checked 20") {
		t.Fatalf("get after a probe:\n%s", out)
	}
	if _, errOut, code := cli(t, p, key, "servers", "tools", "git"); code != exitNotFound || !strings.Contains(errOut, "ERR_NOT_PROBED") {
		t.Fatalf("tools before a probe: %d %s", code, errOut)
	}

	out, _, code = cli(t, p, key, "servers", "delete", "git")
	if code != 0 || out != "deleted git\n" {
		t.Fatalf("delete: %d %q", code, out)
	}

	// The audit trail of all that, oldest first; filters; JSON lines.
	out, _, code = cli(t, p, key, "audit", "tail", "--limit", "100")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	// The first write was serve's own: the key it made at first start (no key, no request).
	if code != 0 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], "api_key.create") ||
		!strings.Contains(lines[2], "mcp_server.create") || !strings.Contains(lines[2], "mcp_server:weather") ||
		!strings.Contains(lines[len(lines)-1], "mcp_server.delete") || !strings.Contains(out, "agent.mcp_add") {
		t.Fatalf("audit tail:\n%s", out)
	}
	out, _, code = cli(t, p, key, "audit", "tail", "--target", "mcp_server:git", "-o", "json")
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"action":"mcp_server.delete"`) {
		t.Fatalf("audit tail --target -o json:\n%s", out)
	}
	p.stop(t, syscall.SIGTERM)
}

// TestImportExport: export from one instance, import into another (twice: idempotent),
// export again: nothing lost. --update applies changed lines.
func TestImportExport(t *testing.T) {
	a := startServe(t, filepath.Join(t.TempDir(), "a.db"))
	b := startServe(t, filepath.Join(t.TempDir(), "b.db"))
	ka, kb := a.printedKey(t), b.printedKey(t)
	ctx := context.Background()
	ca, _ := client.New(a.base+"/v3", ka)
	for i, s := range []client.CreateMCPServer{
		{Name: "One", Slug: "one", Url: "https://1.example.com/mcp", Description: ptr("first <&> \"quoted\""), Icon: ptr("https://1.example.com/i.png")},
		{Name: "Two ✓", Slug: "two", Url: "https://2.example.com/sse"},
		{Name: "Three", Slug: "three", Url: "http://3.example.com:8080/mcp?x=1", Description: ptr("line\nbreak")},
	} {
		if _, err := ca.CreateServer(ctx, s); err != nil {
			t.Fatal(i, err)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "servers.jsonl")
	if _, errOut, code := cli(t, a, ka, "servers", "export", file); code != 0 || !strings.Contains(errOut, "exported 3") {
		t.Fatalf("export: %d %s", code, errOut)
	}
	if out, _, code := cli(t, b, kb, "servers", "import", file); code != 0 || out != "created 3, updated 0, skipped 0 (already there)\n" {
		t.Fatalf("import: %d %q", code, out)
	}
	if out, _, code := cli(t, b, kb, "servers", "import", file); code != 0 || out != "created 0, updated 0, skipped 3 (already there)\n" {
		t.Fatalf("re-import: %d %q", code, out)
	}
	fields := func(jsonl string) []string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(jsonl), "\n") {
			var s client.MCPServer
			if err := json.Unmarshal([]byte(l), &s); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal([]string{s.Slug, s.Name, s.Url, s.Description, s.Icon})
			out = append(out, string(b))
		}
		sort.Strings(out)
		return out
	}
	fromA, _ := os.ReadFile(file)
	fromB, _, _ := cli(t, b, kb, "servers", "export")
	if got, want := fields(fromB), fields(string(fromA)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("round trip lost data:\n got %v\nwant %v", got, want)
	}

	changed := strings.Replace(string(fromA), `"name":"One"`, `"name":"Uno"`, 1)
	if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _, code := cli(t, b, kb, "servers", "import", "--update", file); code != 0 || out != "created 0, updated 3, skipped 0 (already there)\n" {
		t.Fatalf("import --update: %d %q", code, out)
	}
	cb, _ := client.New(b.base+"/v3", kb)
	if s, err := cb.GetServer(ctx, "one"); err != nil || s.Name != "Uno" {
		t.Fatalf("after --update: %+v %v", s, err)
	}
	a.stop(t, syscall.SIGTERM)
	b.stop(t, syscall.SIGTERM)
}

// TestServerURLFlag: on servers create and update, --server-url is the MCP server's URL and
// --url then the API's, as on every other command; --url alone is still the MCP server's,
// with a deprecation notice.
func TestServerURLFlag(t *testing.T) {
	p := startServe(t, filepath.Join(t.TempDir(), "a.db"))
	key := p.printedKey(t)
	out, errOut, code := cli(t, p, key, "servers", "create", "--name", "Old", "--slug", "old", "--url", "https://old.example.com/mcp")
	if code != 0 || !strings.Contains(out, "url:          https://old.example.com/mcp\n") || !strings.Contains(errOut, "--url URL is deprecated for the MCP server's URL: use --server-url") {
		t.Fatalf("create --url: %d %s %s", code, out, errOut)
	}
	// With --server-url, --url points the command at the API: here one that is not there.
	_, errOut, code = cli(t, p, key, "servers", "create", "--name", "New", "--slug", "new", "--server-url", "https://new.example.com/mcp", "--url", "http://127.0.0.1:1/v3")
	if code != exitOther || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Fatalf("create --server-url --url: %d %s", code, errOut)
	}
	out, errOut, code = cli(t, p, key, "servers", "update", "old", "--server-url", "https://moved.example.com/mcp", "--url", p.base+"/v3")
	if code != 0 || errOut != "" || !strings.Contains(out, "url:          https://moved.example.com/mcp\n") {
		t.Fatalf("update --server-url --url: %d %s %s", code, out, errOut)
	}
	if _, errOut, code := cli(t, p, key, "servers", "create", "--name", "X", "--slug", "x"); code != exitUsage || !strings.Contains(errOut, `"server-url"`) {
		t.Fatalf("create without a URL: %d %s", code, errOut)
	}
	// secrets rotate's usage line shows the flag its help recommends.
	if out, _, _ := inProcess("secrets", "rotate", "--help"); !strings.Contains(out, "rotate --to-file NEW_KEEPER_FILE [--finish]") {
		t.Fatalf("secrets rotate --help:\n%s", out)
	}
	p.stop(t, syscall.SIGTERM)
}
