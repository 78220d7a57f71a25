package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeExitCodes are the codes of the README's exit-code table, in its order.
func readmeExitCodes(t *testing.T) []int {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(raw), "<!-- exit-codes:start -->")
	table, _, ok := strings.Cut(table, "<!-- exit-codes:end -->")
	if !ok {
		t.Fatal("README.md has no exit-codes table")
	}
	var codes []int
	for _, m := range regexp.MustCompile("(?m)^\\| `(\\d+)` \\|").FindAllStringSubmatch(table, -1) {
		n, _ := strconv.Atoi(m[1])
		codes = append(codes, n)
	}
	return codes
}

// TestExitCodes: every row of the README's exit-code table is what the commands exit with,
// through the real binary, for the client commands and the database commands alike. (The
// probe outcomes 10-14 are run in TestServersHealth and TestCLI; here they are checked
// against the table.)
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	p := startServe(t, db, "--probe-allow-private", "--probe-workers", "1", "--probe-workers-per-app", "1", "--probe-timeout", "60s")
	key := p.printedKey(t)
	if _, errOut, code := cli(t, p, key, "servers", "create", "--name", "W", "--slug", "weather", "--server-url", "https://w.example.com/mcp"); code != 0 {
		t.Fatal(errOut)
	}
	missing := filepath.Join(dir, "elsewhere", "agentmcp.db")
	badImport := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(badImport, []byte("not json\n"), 0o644)
	api := []string{"AGENTMCP_URL=" + p.base + "/v3", "AGENTMCP_API_KEY=" + key}

	cases := []struct {
		code int
		env  []string
		args []string
		msg  string // in stderr
	}{
		{0, api, []string{"servers", "list"}, ""},
		{1, api, []string{"servers", "list", "--url", "http://127.0.0.1:1/v3"}, "connect"},
		{2, api, []string{"servers", "list", "--no-such-flag"}, "unknown flag"},
		{2, api, []string{"servers", "lst"}, `"list"?`},
		{2, api, []string{"servers", "get"}, "accepts 1 arg"},
		{2, api, []string{"servers", "list", "--limit", "0"}, "--limit 0: want 1-100"},
		{2, api, []string{"agents", "list", "--limit", "101"}, "--limit 101: want 1-100"},
		{2, api, []string{"servers", "update", "weather"}, "nothing to change"},
		{2, []string{"AGENTMCP_URL=localhost:8080", "AGENTMCP_API_KEY=" + key}, []string{"servers", "list"}, `API base URL "localhost:8080"`},
		{2, []string{"AGENTMCP_DB_MAX_CONNS=ten"}, []string{"keys", "list", "--db", db}, "AGENTMCP_DB_MAX_CONNS"},
		{2, nil, []string{"keys", "create", "--scope", "bogus", "--db", db}, `--scope "bogus"`},
		{2, nil, []string{"keys", "create", "--scope", "authOnly", "--agent", "support", "--db", db}, "[agent scope] were all set"},
		{2, nil, []string{"secrets", "rotate", "--db", db}, "--to-file"},
		{2, nil, []string{"apps", "registry", "default", "maybe", "--db", db}, "want on or off"},
		{3, api, []string{"servers", "get", "nope"}, "ERR_MCP_SERVER_NOT_FOUND"},
		{3, []string{"AGENTMCP_URL=" + p.base, "AGENTMCP_API_KEY=" + key}, []string{"servers", "list"}, "does not end in /v3"},
		{3, nil, []string{"keys", "create", "--agent", "nosuchagent", "--db", db}, `app "default": agent "nosuchagent": not found (in the database ` + db + ")"},
		{3, nil, []string{"keys", "create", "--app", "nope", "--db", db}, "(in the database " + db + ")"},
		{3, nil, []string{"keys", "revoke", "key_nope", "--db", db}, `key "key_nope": not found (in the database ` + db + ")"},
		{3, nil, []string{"keys", "list", "--db", missing}, "no database at " + missing},
		{3, nil, []string{"apps", "create", "x", "--db", missing}, "no database at " + missing},
		{3, nil, []string{"migrate", "status", "--db", missing}, "no database at " + missing},
		{4, api, []string{"servers", "create", "--name", "W", "--slug", "weather", "--server-url", "https://x.example.com"}, "ERR_SLUG_ALREADY_EXISTS"},
		{4, nil, []string{"apps", "create", "default", "--db", db}, "exists"},
		{5, []string{"AGENTMCP_URL=" + p.base + "/v3", "AGENTMCP_API_KEY=amk_wrong"}, []string{"servers", "list"}, "AUTH_ERR_APIKEY_NOT_FOUND"},
		{6, api, []string{"servers", "create", "--name", "W", "--slug", "Bad Slug", "--server-url", "ftp://x"}, "slug:"},
		{6, api, []string{"servers", "import", badImport}, "1 bad line, nothing imported"},
	}
	tested := map[int]bool{}
	for _, c := range cases {
		_, errOut, code := runEnv(t, c.env, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, want %d; stderr %q, want %q", c.args, code, c.code, errOut, c.msg)
		}
		tested[code] = true
	}
	if _, err := os.Stat(filepath.Dir(missing)); err == nil {
		t.Error("a database command made the directory of a database that was not there")
	}

	// 7: POST …/probe while the app's only probe slot is taken answers 429.
	arrived, hang := make(chan struct{}, 1), make(chan struct{})
	slow := httpServer(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	if _, errOut, code := cli(t, p, key, "servers", "create", "--name", "Slow", "--slug", "slow", "--server-url", slow+"/mcp"); code != 0 {
		t.Fatal(errOut)
	}
	first := exec.Command(bin, "servers", "probe", "slow")
	first.Env = append(os.Environ(), api...)
	var firstOut bytes.Buffer
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the first probe never reached the server")
	}
	_, errOut, code := runEnv(t, api, "servers", "probe", "weather")
	if code != exitBusy || !strings.Contains(errOut, "(ERR_RATE_LIMITED)") && !strings.Contains(errOut, "probe") {
		t.Errorf("probe while the slot is taken: exit %d, want %d; %q", code, exitBusy, errOut)
	}
	tested[code] = true
	close(hang)
	first.Wait()

	for _, code := range probeExitCodes {
		tested[code] = true // run in TestServersHealth and TestCLI
	}
	documented := readmeExitCodes(t)
	var got []int
	for c := range tested {
		got = append(got, c)
	}
	slices.Sort(got)
	want := slices.Clone(documented)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the README's table has codes %v; the commands exited with %v", want, got)
	}
	p.stop(t, syscall.SIGTERM)
}
