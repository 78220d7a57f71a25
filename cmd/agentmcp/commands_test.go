package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/agentmcp/agentmcp/client"
)

// commandPaths are the arguments that name every command of the tree, the root ([]) first.
func commandPaths() [][]string {
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		out = append(out, path)
		for _, sub := range c.Commands() {
			if !sub.Hidden {
				walk(sub, append(slices.Clip(path), sub.Name()))
			}
		}
	}
	walk(rootCmd(), nil)
	return append(out, []string{"help"})
}

// inProcess runs the command tree in this process, as main does; for the tests that run
// many commands that never reach a server or a database.
func inProcess(args ...string) (string, string, int) {
	root := rootCmd()
	var out, errb strings.Builder
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	code := run(context.Background(), root, &errb)
	return out.String(), errb.String(), code
}

// TestHelpShowsNoSecret: with a key and a database password in the environment, no
// command's --help (nor `help COMMAND`) shows either.
func TestHelpShowsNoSecret(t *testing.T) {
	const key, password = "amk_THE-SECRET-KEY-0123456789", "the-db-password"
	env := []string{"AGENTMCP_API_KEY=" + key, "AGENTMCP_DB=postgres://agentmcp:" + password + "@db.example.com/agentmcp",
		"AGENTMCP_URL=https://user:" + password + "@api.example.com/v3", "AGENTMCP_SECRETS_KEEPER=base64key://" + password}
	paths := commandPaths()
	if len(paths) < 30 {
		t.Fatalf("only %d commands found", len(paths))
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	for _, path := range paths {
		for _, args := range [][]string{append(slices.Clip(path), "--help"), append([]string{"help"}, path...)} {
			out, errOut, code := inProcess(args...)
			if code != 0 || !strings.Contains(out, "Usage:") {
				t.Errorf("%v: exit %d\n%s%s", args, code, out, errOut)
			}
			if strings.Contains(out+errOut, key) || strings.Contains(out+errOut, password) {
				t.Errorf("%v shows a secret:\n%s", args, out)
			}
		}
	}
	// The binary's too, and the environment is still used.
	if out, _, code := runEnv(t, env, "servers", "list", "--help"); code != 0 || strings.Contains(out, key) || !strings.Contains(out, "(env AGENTMCP_API_KEY)") {
		t.Fatalf("servers list --help: %d\n%s", code, out)
	}
	if _, errOut, code := runEnv(t, []string{"AGENTMCP_URL=http://127.0.0.1:1/v3", "AGENTMCP_API_KEY=amk_x"}, "servers", "list"); code != exitOther || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Fatalf("AGENTMCP_URL not used: %d %s", code, errOut)
	}
}

// TestUnknownCommands: an unknown subcommand of any command is a usage error (exit 2) that
// suggests what was meant; a group without a subcommand shows its help.
func TestUnknownCommands(t *testing.T) {
	groups := 0
	for _, path := range commandPaths() {
		c, rest, err := rootCmd().Find(path)
		if err != nil {
			t.Fatal(path, err)
		}
		if !c.HasAvailableSubCommands() || len(rest) > 0 { // help is added at Execute
			continue
		}
		groups++
		if out, _, code := inProcess(path...); code != 0 || !strings.Contains(out, "Available Commands:") {
			t.Errorf("%v: exit %d\n%s", path, code, out)
		}
		_, errOut, code := inProcess(append(slices.Clip(path), "no-such-command")...)
		if code != exitUsage || !strings.Contains(errOut, `unknown command "no-such-command"`) || !strings.Contains(errOut, "--help' for usage") {
			t.Errorf("%v no-such-command: exit %d, %q", path, code, errOut)
		}
		for _, sub := range c.Commands() {
			if sub.Hidden || len(sub.Name()) < 2 {
				continue
			}
			typo := sub.Name()[:len(sub.Name())-1]
			_, errOut, code := inProcess(append(slices.Clip(path), typo)...)
			if code != exitUsage || !strings.Contains(errOut, fmt.Sprintf("did you mean %q", sub.Name())) && !strings.Contains(errOut, `"`+sub.Name()+`" or`) && !strings.Contains(errOut, `or "`+sub.Name()+`"`) {
				t.Errorf("%v %s: exit %d, %q", path, typo, code, errOut)
			}
		}
	}
	if groups < 8 {
		t.Fatalf("only %d command groups", groups)
	}
	if _, errOut, code := inProcess("help", "servers", "lst"); code != exitUsage || !strings.Contains(errOut, `; did you mean `) || !strings.Contains(errOut, `"list"?`) {
		t.Fatalf("help servers lst: %d %q", code, errOut)
	}
	for _, args := range [][]string{
		{"servers", "list", "--no-such-flag"},
		{"servers", "create", "--name", "x"},
		{"servers", "get", "a", "b"},
		{"servers", "list", "-o", "yaml", "--api-key", "k"},
		{"servers", "list", "--health", "sick", "--api-key", "k"},
		{"agents", "update", "bot", "--api-key", "k"},
		{"migrate", "up", "extra"},
	} {
		if _, errOut, code := inProcess(args...); code != exitUsage || !strings.Contains(errOut, "for usage") {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
}

// TestMalformedEnvironment: a numeric AGENTMCP_* variable that is not a number is an error,
// never silently the default.
func TestMalformedEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	for _, c := range []struct {
		env  string
		args []string
		msg  string
	}{
		{"AGENTMCP_RATE_LIMIT=fast", []string{"serve", "--db", db}, `environment variable AGENTMCP_RATE_LIMIT (for --rate-limit): want a number, got "fast"`},
		{"AGENTMCP_RATE_BURST=1.5", []string{"serve", "--db", db}, `AGENTMCP_RATE_BURST (for --rate-burst): want an integer, got "1.5"`},
		{"AGENTMCP_CACHE_SIZE=lots", []string{"serve", "--db", db}, `AGENTMCP_CACHE_SIZE (for --cache-size): want an integer`},
		{"AGENTMCP_DB_MAX_CONNS=ten", []string{"keys", "list", "--db", db}, `environment variable AGENTMCP_DB_MAX_CONNS (for --db-max-conns): want an integer, got "ten"`},
		{"AGENTMCP_DB_MAX_CONNS=ten", []string{"serve", "--db", db}, `AGENTMCP_DB_MAX_CONNS`},
	} {
		if _, errOut, code := runEnv(t, []string{c.env}, c.args...); code != exitUsage || !strings.Contains(errOut, c.msg) {
			t.Errorf("%s %v: exit %d, %q", c.env, c.args, code, errOut)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Fatal("a command with a malformed environment opened the database")
	}
	// Only the commands that read a variable refuse it.
	if _, errOut, code := runCmd(t, "migrate", "up", "--db", db); code != 0 {
		t.Fatalf("migrate up: %s", errOut)
	}
	if _, errOut, code := runEnv(t, []string{"AGENTMCP_RATE_LIMIT=fast"}, "keys", "list", "--db", db); code != 0 {
		t.Fatalf("keys list refused AGENTMCP_RATE_LIMIT: %d %s", code, errOut)
	}
}

// TestMigrateUpSaysWhatItApplied: on a new database every migration is listed; then none.
func TestMigrateUpSaysWhatItApplied(t *testing.T) {
	db := filepath.Join(t.TempDir(), "new.db")
	out, _, code := runCmd(t, "migrate", "up", "--db", db)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) < 7 || lines[0] != "applied 0001_init" || strings.Contains(out, "database is up to date:") ||
		lines[len(lines)-1] != fmt.Sprintf("applied %d migrations; the database is up to date", len(lines)-1) {
		t.Fatalf("migrate up on a new database: %d\n%s", code, out)
	}
	if out, _, code := runCmd(t, "migrate", "up", "--db", db); code != 0 || out != "database is up to date: no migration to apply\n" {
		t.Fatalf("migrate up again: %d %q", code, out)
	}
}

// TestMakeRunPassesArgs: `make run ARGS=...` hands its flags to serve.
func TestMakeRunPassesArgs(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("SKIPPED: make is not installed")
	}
	out, err := exec.Command("make", "-C", "../..", "-n", "run", "ARGS=--probe-allow-private --addr :9090").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "serve --probe-allow-private --addr :9090\n") {
		t.Fatalf("make -n run: %v\n%s", err, out)
	}
	out, err = exec.Command("make", "-C", "../..", "-n", "install").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "go install ./cmd/agentmcp\n") {
		t.Fatalf("make -n install: %v\n%s", err, out)
	}
}

// TestREADMEListsEveryCommand: "How it is built" names every command and subcommand.
func TestREADMEListsEveryCommand(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(raw), "## How it is built")
	_, section, _ = strings.Cut(section, "**`cmd/agentmcp`**")
	section, _, _ = strings.Cut(section, "\n\n")
	for _, c := range rootCmd().Commands() {
		if c.Hidden {
			continue
		}
		var subs []string
		for _, s := range c.Commands() {
			if !s.Hidden && s.Name() != "help" {
				subs = append(subs, s.Name())
			}
		}
		if len(subs) == 0 || c.Name() == "completion" {
			if !strings.Contains(section, "`"+c.Name()+"`") {
				t.Errorf("How it is built does not list %s", c.Name())
			}
			continue
		}
		_, rest, ok := strings.Cut(section, "`"+c.Name()+" ")
		listed, _, _ := strings.Cut(rest, "`")
		got := strings.Split(listed, "|")
		slices.Sort(got)
		if !ok || !slices.Equal(got, subs) {
			t.Errorf("How it is built lists %s %v; the command has %v", c.Name(), got, subs)
		}
	}
	if !strings.Contains(section, "`help`") {
		t.Error("How it is built does not list help")
	}
}

// mcpHandler is a real MCP server (the official SDK) with n tools.
func mcpHandler(n int) http.Handler {
	s := mcp.NewServer(&mcp.Implementation{Name: "tools-server", Version: "1.0.0"}, nil)
	for i := range n {
		s.AddTool(&mcp.Tool{Name: fmt.Sprintf("tool_%d", i), Description: "does a thing",
			InputSchema: map[string]any{"type": "object"}},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{}, nil
			})
	}
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
}

func httpServer(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// TestServersHealth: every probe outcome has its exit code; list shows HEALTH and TOOLS and
// filters by health; get shows the health. (blocked, 14, is in TestCLI: it needs a server
// that refuses private addresses, and these are all on loopback.)
func TestServersHealth(t *testing.T) {
	p := startServe(t, filepath.Join(t.TempDir(), "a.db"), "--probe-allow-private", "--probe-timeout", "1s")
	key := p.printedKey(t)
	hang := make(chan struct{})
	defer close(hang)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/mcp"
	ln.Close()
	cases := []struct {
		slug, url, status string
		code              int
	}{
		{"tools", httpServer(t, mcpHandler(3)) + "/mcp", "ok", 0},
		{"locked", httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="https://auth.example.com/meta"`)
			http.Error(w, "no", http.StatusUnauthorized)
		})) + "/mcp", "auth_required", 10},
		{"website", httpServer(t, http.NotFoundHandler()) + "/mcp", "not_mcp", 11},
		{"gone", closed, "unreachable", 12},
		{"slow", httpServer(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		})) + "/mcp", "timeout", 13},
	}
	for _, c := range cases {
		if _, errOut, code := cli(t, p, key, "servers", "create", "--name", c.slug, "--slug", c.slug, "--server-url", c.url); code != 0 {
			t.Fatalf("create %s: %s", c.slug, errOut)
		}
	}
	if _, _, code := cli(t, p, key, "servers", "create", "--name", "Never", "--slug", "never", "--server-url", "https://never.example.com/mcp"); code != 0 {
		t.Fatal("create never")
	}
	for _, c := range cases {
		out, errOut, code := cli(t, p, key, "servers", "probe", c.slug)
		if code != c.code || !strings.Contains(out, "status:    "+c.status+"\n") {
			t.Errorf("probe %s: exit %d, want %d\n%s%s", c.slug, code, c.code, out, errOut)
		}
		if want := fmt.Sprintf("agentmcp: probe of %s: %s\n", c.slug, c.status); c.code != 0 && errOut != want {
			t.Errorf("probe %s: stderr %q, want %q", c.slug, errOut, want)
		}
	}

	rows := func(args ...string) map[string][]string {
		t.Helper()
		out, errOut, code := cli(t, p, key, append([]string{"servers", "list"}, args...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || strings.Join(strings.Fields(lines[0]), " ") != "SLUG NAME URL HEALTH TOOLS CREATED" {
			t.Fatalf("list %v: %d\n%s%s", args, code, out, errOut)
		}
		m := map[string][]string{}
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			m[f[0]] = f[3:5]
		}
		return m
	}
	all := rows()
	if len(all) != 6 || fmt.Sprint(all["tools"]) != "[ok 3]" || fmt.Sprint(all["gone"]) != "[unreachable -]" ||
		fmt.Sprint(all["locked"]) != "[auth_required -]" || fmt.Sprint(all["never"]) != "[unknown -]" {
		t.Fatalf("list: %v", all)
	}
	if ok := rows("--health", "ok"); len(ok) != 1 || ok["tools"] == nil {
		t.Fatalf("--health ok: %v", ok)
	}
	if failing := rows("--health", "failing", "--all", "--limit", "2"); len(failing) != 4 || failing["tools"] != nil || failing["never"] != nil {
		t.Fatalf("--health failing --all: %v", failing)
	}
	if unknown := rows("--health", "unknown"); len(unknown) != 1 || unknown["never"] == nil {
		t.Fatalf("--health unknown: %v", unknown)
	}
	out, _, _ := cli(t, p, key, "servers", "get", "tools")
	if !strings.Contains(out, "health:       ok, checked 20") || !strings.Contains(out, ", 3 tools\n") {
		t.Fatalf("get tools:\n%s", out)
	}
	if out, _, _ := cli(t, p, key, "servers", "get", "never"); !strings.Contains(out, "health:       unknown (never probed)\n") {
		t.Fatalf("get never:\n%s", out)
	}
	if out, _, code := cli(t, p, key, "servers", "tools", "tools"); code != 0 || strings.Count(out, "tool_") != 3 {
		t.Fatalf("tools: %d\n%s", code, out)
	}
	p.stop(t, syscall.SIGTERM)
}

// TestListSaysThereIsMore: a full page with more behind it says so on stderr; a full page
// that is all there is does not.
func TestListSaysThereIsMore(t *testing.T) {
	p := startServe(t, filepath.Join(t.TempDir(), "a.db"))
	key := p.printedKey(t)
	c, _ := client.New(p.base+"/v3", key)
	ctx := context.Background()
	for i := range 10 {
		slug := fmt.Sprintf("s%02d", i)
		if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: slug, Slug: slug, Url: "https://s.example.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateAgent(ctx, client.CreateAgent{Uid: &slug, Name: slug}); err != nil {
			t.Fatal(err)
		}
	}
	for _, what := range []string{"servers", "agents"} {
		if out, errOut, code := cli(t, p, key, what, "list"); code != 0 || errOut != "" || strings.Count(out, "\n") != 11 {
			t.Fatalf("%s list of exactly a page: %d %q\n%s", what, code, errOut, out)
		}
	}
	slug := "s10"
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: slug, Slug: slug, Url: "https://s.example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Uid: &slug, Name: slug}); err != nil {
		t.Fatal(err)
	}
	for _, what := range []string{"servers", "agents"} {
		out, errOut, code := cli(t, p, key, what, "list")
		if want := "more " + what + " than these 10: --all lists every one (or --limit up to 100 per page)\n"; code != 0 || errOut != want || strings.Count(out, "\n") != 11 {
			t.Fatalf("%s list with more: %d %q\n%s", what, code, errOut, out)
		}
		if out, errOut, _ := cli(t, p, key, what, "list", "--all"); errOut != "" || strings.Count(out, "\n") != 12 {
			t.Fatalf("%s list --all: %q\n%s", what, errOut, out)
		}
		if _, errOut, _ := cli(t, p, key, what, "list", "-o", "json"); errOut != "" {
			t.Fatalf("%s list -o json wrote to stderr: %q", what, errOut)
		}
	}
	p.stop(t, syscall.SIGTERM)
}

// TestAgentsCommands: agents create, list, get, update and delete, like servers.
func TestAgentsCommands(t *testing.T) {
	p := startServe(t, filepath.Join(t.TempDir(), "a.db"))
	key := p.printedKey(t)
	for _, slug := range []string{"weather", "git"} {
		if _, _, code := cli(t, p, key, "servers", "create", "--name", slug, "--slug", slug, "--server-url", "https://x.example.com"); code != 0 {
			t.Fatal("create", slug)
		}
	}
	out, errOut, code := cli(t, p, key, "agents", "create", "--uid", "bot", "--name", "Bot", "--instruction", "Be brief", "--mcp", "weather,git", "--model", "gpt-4o-mini")
	if code != 0 || !strings.Contains(out, "uid:          bot\n") || !strings.Contains(out, "instruction:  Be brief\n") ||
		!strings.Contains(out, "mcpServers:   weather, git\n") || !strings.Contains(out, "model:        gpt-4o-mini\n") {
		t.Fatalf("agents create: %d\n%s%s", code, out, errOut)
	}
	out, _, code = cli(t, p, key, "agents", "create", "--name", "Made-up uid", "-o", "json")
	var made client.Agent
	if code != 0 || json.Unmarshal([]byte(out), &made) != nil || made.Uid == "" || made.Name != "Made-up uid" {
		t.Fatalf("agents create without --uid: %d %s", code, out)
	}
	if _, errOut, code := cli(t, p, key, "agents", "create", "--uid", "bot", "--name", "Again"); code != exitConflict {
		t.Fatalf("agents create twice: %d %s", code, errOut)
	}
	if _, errOut, code := cli(t, p, key, "agents", "create", "--uid", "ghost", "--name", "G", "--mcp", "nope"); code != exitValidation || !strings.Contains(errOut, "ERR_MCP_SERVER_NOT_FOUND") {
		t.Fatalf("agents create with an unknown server: %d %s", code, errOut)
	}

	for _, c := range []struct {
		args []string
		path string
	}{
		{[]string{"agents", "list", "-o", "json"}, "/ai-agents/agent-builder/agents"},
		{[]string{"agents", "get", "bot", "-o", "json"}, "/ai-agents/agent-builder/agents/bot"},
	} {
		out, _, code := cli(t, p, key, c.args...)
		want := apiBody(t, p, key, c.path)
		if code != 0 || out != want {
			t.Fatalf("%v:\n got %q\nwant %q", c.args, out, want)
		}
	}
	out, _, _ = cli(t, p, key, "agents", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "UID NAME MCP SERVERS UPDATED" || !strings.HasPrefix(lines[2], "bot ") || !strings.Contains(lines[2], "weather,git") {
		t.Fatalf("agents list:\n%s", out)
	}

	out, _, code = cli(t, p, key, "agents", "update", "bot", "--name", "Bot 2", "--mcp", "", "--active=false")
	if code != 0 || !strings.Contains(out, "name:         Bot 2\n") || !strings.Contains(out, "instruction:  Be brief\n") ||
		!strings.Contains(out, "mcpServers:   \n") || !strings.Contains(out, "active:       false\n") {
		t.Fatalf("agents update: %d\n%s", code, out)
	}
	if _, errOut, code := cli(t, p, key, "agents", "update", "bot"); code != exitUsage || !strings.Contains(errOut, "nothing to change") {
		t.Fatalf("agents update without flags: %d %s", code, errOut)
	}
	if out, _, code := cli(t, p, key, "agents", "delete", "bot"); code != 0 || out != "deleted bot\n" {
		t.Fatalf("agents delete: %d %q", code, out)
	}
	if _, errOut, code := cli(t, p, key, "agents", "get", "bot"); code != exitNotFound {
		t.Fatalf("agents get after delete: %d %s", code, errOut)
	}
	p.stop(t, syscall.SIGTERM)
}

// TestImportChecksEveryLineFirst: a file with bad lines is reported line by line and
// nothing of it is written; a good one says what it did.
func TestImportChecksEveryLineFirst(t *testing.T) {
	p := startServe(t, filepath.Join(t.TempDir(), "a.db"))
	key := p.printedKey(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(strings.Join([]string{
		`{"name":"One","slug":"one","url":"https://1.example.com/mcp"}`,
		`not json`,
		`{"name":" ","slug":"Bad Slug","url":"ftp://x"}`,
		``,
		`{"name":"Typo","slug":"typo","url":"https://t.example.com","descripton":"x"}`,
		`{"name":"One again","slug":"one","url":"https://1.example.com/mcp"}`,
		`{"slug":"nameless","url":"https://n.example.com"}`,
		`{"name":"Two","slug":"two","url":"https://2.example.com/mcp","health":{"status":"ok","checkedAt":1,"toolCount":0},"_id":"x_two"}`,
	}, "\n")), 0o644)
	out, errOut, code := cli(t, p, key, "servers", "import", bad)
	for _, want := range []string{
		bad + ": 5 bad lines, nothing imported:",
		"\n  line 2: not a JSON object: ",
		"\n  line 3: name: must not be blank",
		"\n  line 3: slug: must be: Slug of the MCP server",
		"\n  line 3: url: must be: URL of the MCP server; an absolute http or https URL with a host.",
		"\n  line 5: unknown field [\"descripton\"]",
		"\n  line 6: slug \"one\" is also on line 1",
		"\n  line 7: name: is required",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("import of a bad file: stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code != exitValidation || out != "" || strings.Contains(errOut, "line 1:") || strings.Contains(errOut, "line 8:") {
		t.Fatalf("import of a bad file: %d %q\n%s", code, out, errOut)
	}
	if list := apiBody(t, p, key, "/ai-agents/agent-builder/mcp-servers"); !strings.Contains(list, `"data":[]`) {
		t.Fatalf("a bad file wrote servers: %s", list)
	}

	good := filepath.Join(dir, "good.jsonl")
	os.WriteFile(good, []byte(`{"name":"One","slug":"one","url":"https://1.example.com/mcp"}`+"\n"), 0o644)
	if out, _, code := cli(t, p, key, "servers", "import", good); code != 0 || out != "created 1, updated 0, skipped 0 (already there)\n" {
		t.Fatalf("import: %d %q", code, out)
	}
	os.WriteFile(good, []byte(`{"name":"Uno","slug":"one","url":"https://1.example.com/mcp"}`+"\n"+`{"name":"Two","slug":"two","url":"https://2.example.com/mcp"}`+"\n"), 0o644)
	if out, _, code := cli(t, p, key, "servers", "import", good); code != 0 || out != "created 1, updated 0, skipped 1 (already there)\n" {
		t.Fatalf("re-import: %d %q", code, out)
	}
	if out, _, code := cli(t, p, key, "servers", "import", "--update", good); code != 0 || out != "created 0, updated 2, skipped 0 (already there)\n" {
		t.Fatalf("import --update: %d %q", code, out)
	}
	file := filepath.Join(dir, "one.jsonl")
	cli(t, p, key, "servers", "delete", "two")
	if _, errOut, code := cli(t, p, key, "servers", "export", file); code != 0 || errOut != "exported 1 MCP server to "+file+"\n" {
		t.Fatalf("export of one: %d %q", code, errOut)
	}
	p.stop(t, syscall.SIGTERM)
}
