package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
)

// bin is the agentmcp binary, built once for the package's tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agentmcp-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "agentmcp")
	if out, err := exec.Command("go", "build", "-race", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building agentmcp: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running `agentmcp serve`.
type proc struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:port
	stdout *apitest.SyncBuffer
	stderr *apitest.SyncBuffer
	done   chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runCmd runs the binary to completion and returns stdout, stderr and the exit code.
func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runEnv(t, nil, args...)
}

// runEnv is runCmd with extra environment variables.
func runEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// serversBySlug reads every server of c's app.
func serversBySlug(t *testing.T, c *client.Client) map[string]client.MCPServer {
	t.Helper()
	got := map[string]client.MCPServer{}
	for m, err := range c.All(context.Background(), 100) {
		if err != nil {
			t.Fatal(err)
		}
		got[m.Slug] = m
	}
	return got
}

// startServe starts `agentmcp serve` on db and waits until it is ready.
func startServe(t *testing.T, db string, extra ...string) *proc {
	t.Helper()
	addr := freeAddr(t)
	p := &proc{base: "http://" + addr, stdout: &apitest.SyncBuffer{}, stderr: &apitest.SyncBuffer{}, done: make(chan error, 1)}
	// No background probing (the tests' servers have made-up URLs, and tests send no traffic
	// beyond loopback), and no rate limit (bursts are the point of several tests).
	p.cmd = exec.Command(bin, append([]string{"serve", "--addr", addr, "--db", db, "--probe-on-write=false", "--probe-interval=0", "--rate-limit=0"}, extra...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				// The last lines serve writes before it serves: the tests read its output once.
				waitFor(t, p.stdout, lastStartupOut)
				waitFor(t, p.stderr, lastStartupLog)
				return p
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("serve exited early: %v\nstderr: %s", err, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready in time\nstderr: %s", p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends sig and waits for the process to exit; it returns the exit error.
func (p *proc) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s")
		return nil
	}
}

// waitFor waits for re in serve's stdout or stderr (copied from the child's pipe by a
// goroutine, so after /readyz answers a line may still be on its way) and returns its
// submatches.
func waitFor(t *testing.T, out *apitest.SyncBuffer, re *regexp.Regexp) []string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve wrote no %s:\n%s", re, out)
		}
	}
}

var (
	lastStartupOut = regexp.MustCompile(`agentmcp: probes `)
	lastStartupLog = regexp.MustCompile(`"msg":"listening"`)
)

var keyPattern = regexp.MustCompile(`amk_[A-Za-z0-9_-]{43}`)

func (p *proc) printedKey(t *testing.T) string {
	t.Helper()
	k := keyPattern.FindString(p.stdout.String())
	if k == "" {
		t.Fatalf("serve printed no key:\n%s", p.stdout)
	}
	return k
}

// TestPersistenceAcrossRestart: a real process is written to while SIGTERM arrives mid-burst;
// every create acknowledged with 201 is there after a restart.
func TestPersistenceAcrossRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "data", "agentmcp.db")
	p := startServe(t, db)
	key := p.printedKey(t)
	out := p.stdout.String()
	port := p.base[strings.LastIndex(p.base, ":")+1:]
	for _, want := range []string{`created app "default"`, "curl -s -X POST http://localhost:", "apikey: " + key,
		"export AGENTMCP_URL=http://localhost:" + port + "/v3 AGENTMCP_API_KEY=" + key + "\n",
		"API reference: http://localhost:" + port + "/docs", "--probe-allow-private"} {
		if !strings.Contains(out, want) {
			t.Fatalf("first-start banner lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(p.stderr.String(), key) {
		t.Fatal("the key appears in the logs")
	}
	c, err := client.New(p.base+"/v3", key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	var mu sync.Mutex
	acked := map[string]client.MCPServer{}
	var wg sync.WaitGroup
	started := make(chan struct{})
	for w := range 8 {
		wg.Go(func() {
			for i := 0; i < 400; i++ {
				if w == 0 && i == 20 {
					close(started)
				}
				slug := fmt.Sprintf("w%d-%03d", w, i)
				m, err := c.CreateServer(ctx, client.CreateMCPServer{Name: slug, Slug: slug, Url: "https://p.example.com/" + slug})
				if err != nil {
					return // the server is going away
				}
				mu.Lock()
				acked[slug] = *m
				mu.Unlock()
			}
		})
	}
	<-started
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM\nstderr: %s", err, p.stderr)
	}
	wg.Wait()
	if !strings.Contains(p.stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop logged:\n%s", p.stderr)
	}
	// Every acknowledged request has its access line (written by logx's lane).
	if n := strings.Count(p.stderr.String(), `"method":"POST","route":"/v3/ai-agents/agent-builder/mcp-servers","status":201`); n < len(acked) {
		t.Fatalf("%d creates acknowledged, %d logged", len(acked), n)
	}
	if len(acked) == 0 {
		t.Fatal("no create was acknowledged before SIGTERM")
	}

	p2 := startServe(t, db)
	if strings.Contains(p2.stdout.String(), "amk_") {
		t.Fatal("a second start printed a new key")
	}
	if port := p2.base[strings.LastIndex(p2.base, ":")+1:]; !strings.Contains(p2.stdout.String(), "API reference at http://localhost:"+port+"/docs") {
		t.Fatalf("a second start does not say where the docs are:\n%s", p2.stdout)
	}
	c2, _ := client.New(p2.base+"/v3", key)
	got := serversBySlug(t, c2)
	for slug, m := range acked {
		if got[slug] != m {
			t.Fatalf("acknowledged %s lost or changed after restart: %+v vs %+v", slug, got[slug], m)
		}
	}
	t.Logf("%d creates acknowledged before SIGTERM, all read back (%d stored)", len(acked), len(got))
	if err := p2.stop(t, os.Interrupt); err != nil {
		t.Fatalf("SIGINT: %v", err)
	}
}

// TestAdminCommands: apps, keys and migrate against the database a server is using.
func TestAdminCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	const keyTTL = 50 * time.Millisecond
	p := startServe(t, db, "--key-cache-ttl", keyTTL.String())
	ctx := context.Background()

	out, errOut, code := runCmd(t, "apps", "create", "my-app", "--db", db)
	key := strings.TrimSpace(out)
	if code != 0 || !keyPattern.MatchString(key) || !strings.Contains(errOut, `created app "my-app"`) {
		t.Fatalf("apps create: %d %q %q", code, out, errOut)
	}
	if _, _, code := runCmd(t, "apps", "create", "my-app", "--db", db); code == 0 {
		t.Fatal("creating an app twice succeeded")
	}
	if _, errOut, code := runCmd(t, "apps", "create", "bad app!", "--db", db); code == 0 || !strings.Contains(errOut, "app id") {
		t.Fatalf("bad app id: %d %s", code, errOut)
	}
	c, _ := client.New(p.base+"/v3", key)
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "n", Slug: "n", Url: "https://n.example.com"}); err != nil {
		t.Fatal(err)
	}

	out, _, code = runCmd(t, "keys", "create", "--app", "my-app", "--scope", "authOnly", "--db", db)
	ao, _ := client.New(p.base+"/v3", strings.TrimSpace(out))
	if _, err := ao.GetServer(ctx, "n"); code != 0 || !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("authOnly key: %d %v", code, err)
	}
	if _, errOut, code := runCmd(t, "keys", "create", "--app", "my-app", "--scope", "root", "--db", db); code == 0 || !strings.Contains(errOut, "scope") {
		t.Fatalf("bad scope: %d %s", code, errOut)
	}
	if _, _, code := runCmd(t, "keys", "create", "--app", "nope", "--db", db); code == 0 {
		t.Fatal("a key for a missing app was created")
	}

	list, _, _ := runCmd(t, "keys", "list", "--app", "my-app", "--db", db)
	if strings.Contains(list, key) || strings.Count(list, "\n") != 3 || !strings.Contains(list, key[:10]) {
		t.Fatalf("keys list:\n%s", list)
	}
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	if out, _, code := runCmd(t, "keys", "revoke", id, "--db", db); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %d %s", code, out)
	}
	// serve cached the key before the revocation: once keyTTL has passed (on purpose), the
	// next request is refused, however slow the machine.
	time.Sleep(keyTTL)
	if _, err := c.GetServer(ctx, "n"); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("revoked key still works %s after the revocation: %v", keyTTL, err)
	}

	out, _, code = runCmd(t, "migrate", "status", "--db", db)
	if code != 0 || !strings.Contains(out, "0001") || strings.Contains(out, "  -\n") {
		t.Fatalf("migrate status:\n%s", out)
	}
	if out, _, code := runCmd(t, "migrate", "up", "--db", db); code != 0 || out != "database is up to date: no migration to apply\n" {
		t.Fatalf("migrate up: %d %s", code, out)
	}
	p.stop(t, syscall.SIGTERM)
}

// readmeBlock is one ```sh block of the README: its text, and why it does not run ("" when
// it does).
type readmeBlock struct {
	line       int
	text, skip string
}

// readmeBlocks are the README's shell blocks, in order. A block is skipped only when the
// line before its fence is `<!-- skip: REASON -->`.
func readmeBlocks(t *testing.T, readme string) []readmeBlock {
	t.Helper()
	var blocks []readmeBlock
	var cur *strings.Builder
	prev, skip := "", ""
	for i, line := range strings.Split(readme, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```") && line != "```":
			lang := strings.TrimPrefix(line, "```")
			if lang == "bash" || lang == "shell" || lang == "console" {
				t.Fatalf("README.md:%d: shell blocks are ```sh, so that this test finds them", i+1)
			}
			if lang != "sh" {
				cur = &strings.Builder{} // another language: read past it
				skip = "-"
				break
			}
			skip = ""
			if r, ok := strings.CutPrefix(prev, "<!-- skip:"); ok {
				if skip = strings.TrimSpace(strings.TrimSuffix(r, "-->")); skip == "" {
					t.Fatalf("README.md:%d: a skipped block needs a reason", i+1)
				}
			}
			cur = &strings.Builder{}
			blocks = append(blocks, readmeBlock{line: i + 1, skip: skip})
		case cur == nil && line == "```":
			cur, skip = &strings.Builder{}, "-" // a plain block (a diagram)
		case cur != nil && line == "```":
			if skip != "-" {
				blocks[len(blocks)-1].text = cur.String()
			}
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
		if strings.TrimSpace(line) != "" {
			prev = line
		}
	}
	return blocks
}

// TestREADMEWalkthrough runs every shell block of the README that is not marked skip, top
// to bottom, in one bash session (so exports carry on, as in a terminal) against a real
// server, so the README cannot drift from what agentmcp does. The test changes only what
// a reader fills in: the address and key `make run` printed. Blocks run in a scratch
// directory; `make` runs in the checkout, and `make install` installs into a scratch GOBIN
// that is first on the PATH, so every `agentmcp` is the one the README installed.
func TestREADMEWalkthrough(t *testing.T) {
	for _, tool := range []string{"curl", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing in CI", tool)
			}
			t.Skipf("SKIPPED: %s is not installed", tool)
		}
	}
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	if strings.Contains(readme, "bin/agentmcp") {
		t.Fatal("README.md spells the command bin/agentmcp somewhere; it is agentmcp throughout")
	}
	blocks := readmeBlocks(t, readme)
	var run []readmeBlock
	skipped := 0
	for _, b := range blocks {
		if b.skip != "" {
			skipped++
			continue
		}
		run = append(run, b)
	}
	// Skipping is for what cannot run here (a server until Ctrl-C, the network, PostgreSQL).
	if skipped > 4 || len(run) < 12 {
		t.Fatalf("README.md: %d shell blocks run, %d are skipped", len(run), skipped)
	}

	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "a.db")
	p := startServe(t, db, "--probe-on-write=true") // as make run: probes after a create
	key := p.printedKey(t)
	gobin := t.TempDir()

	// What make run printed comes first, as a reader pastes it: the "Try it" curls, then the
	// one export line, which must be the README's (with the address and key filled in).
	printed := p.stdout.String()
	_, tryIt, _ := strings.Cut(printed, "\nTry it:\n")
	tryIt, _, ok := strings.Cut(tryIt, "\nFor the CLI")
	var exports []string
	for _, l := range strings.Split(printed, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "export ") {
			// serve prints localhost for the address it listens on; the test's base is 127.0.0.1.
			exports = append(exports, strings.ReplaceAll(strings.TrimSpace(l), "http://localhost:", "http://127.0.0.1:"))
		}
	}
	readmeExport := ""
	for _, b := range run {
		if l, _, _ := strings.Cut(b.text, "#"); strings.HasPrefix(l, "export AGENTMCP_URL=") {
			readmeExport = strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(l), "http://localhost:8080", p.base), "amk_...", key)
		}
	}
	if !ok || len(exports) != 1 || exports[0] != readmeExport || !strings.Contains(readme, "the `export` line this README uses") {
		t.Fatalf("make run printed %d export lines %q (the README's: %q, and it says \"the `export` line\"); Try it: %v\n%s", len(exports), exports, readmeExport, ok, printed)
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\nmake() { command make -C \"$AGENTMCP_REPO\" \"$@\"; }\n")
	script.WriteString("printf '\\n@@tryit\\n'\n")
	for _, l := range strings.Split(tryIt, "\n") {
		script.WriteString(strings.TrimPrefix(l, "    ") + "\n")
	}
	for i, b := range run {
		text := strings.ReplaceAll(b.text, "http://localhost:8080", p.base)
		text = strings.ReplaceAll(text, "amk_...", key)
		fmt.Fprintf(&script, "printf '\\n@@block %d\\n'\n%s", i, text)
	}
	script.WriteString("printf '\\n@@end\\n'\n")

	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AGENTMCP_") && !strings.HasPrefix(kv, "GOBIN=") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	env = append(env, "AGENTMCP_REPO="+repo, "AGENTMCP_DB="+db, "GOBIN="+gobin, "PATH="+gobin+":"+os.Getenv("PATH"),
		"GOFLAGS=-race") // the same build as TestMain's, so mostly from the build cache
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Env, cmd.Dir = env, t.TempDir()
	out, err := cmd.CombinedOutput()

	// The output of each block, by the markers the script printed.
	outputs := map[int]string{}
	last := -1
	for _, part := range strings.Split(string(out), "\n@@")[1:] {
		head, body, _ := strings.Cut(part, "\n")
		if n, ok := strings.CutPrefix(head, "block "); ok {
			fmt.Sscan(n, &last)
			outputs[last] = body
		}
		if head == "tryit" && (!strings.Contains(body, `"slug":"example-server"`) || strings.Contains(body, `"code":"ERR_`)) {
			t.Errorf("the Try it curls make run printed:\n%s\nprinted\n%s", tryIt, body)
		}
	}
	if err != nil || !strings.Contains(string(out), "\n@@end\n") {
		b := run[max(last, 0)]
		t.Fatalf("README.md:%d: the block failed: %v\n%s\noutput:\n%s", b.line, err, b.text, outputs[last])
	}
	if _, err := os.Stat(filepath.Join(gobin, "agentmcp")); err != nil {
		t.Fatalf("make install did not install agentmcp into GOBIN: %v", err)
	}

	// What each block must print, found by a piece of the block.
	wants := []struct{ block, want string }{
		{`"slug":"weather-server","url":"http://localhost:3001"`, `"slug":"weather-server"`},
		{`mcp-servers?limit=10`, `"data":[{`},
		{`mcp-servers/weather-server" -H`, `"description":"Provides weather data for cities"`},
		{`-X PATCH "$AGENTMCP_URL/ai-agents/agent-builder/mcp-servers/weather-server"`, `"url":"http://localhost:3002"`},
		{`mcp/add`, `"mcpServers":["weather-server"]`},
		{`enabled-items`, `"icon":"http://localhost:3002/icon.png","name":"Weather Server","slug":"weather-server","url":"http://localhost:3002"}]`},
		{`Bad Slug`, `"code":"ERR_VALIDATION"`},
		{`/probe"`, `"status":"blocked"`},
		{`/probe"`, `--probe-allow-private`},
		{`/probe"`, `"code":"ERR_NOT_PROBED"`},
		{`-X DELETE`, `"success":true`},
		{`agentmcp servers list`, "HEALTH"},
		{`agentmcp servers probe weather`, "exit 14"},
		{`agentmcp servers export`, "exported 3 MCP servers to servers.jsonl"}, // Try it's, weather and git
		{`agentmcp servers import`, "created 0, updated 0, skipped 3 (already there)"},
		{`agentmcp servers get weather`, "credentials:  none"},
		{`agentmcp agents create`, "mcpServers:   weather"},
		{`agentmcp agents attach`, "mcpServers:   weather, git"},
		{`agentmcp audit tail`, "agent.create"},
		{`--agent support`, "amk_"},
		{`--agent support`, `"name":"runtime"`},
		{`agentmcp keys revoke`, "revoked key_"},
		{`apps registry my-app on`, `registry of app "my-app": on`},
		{`agentmcp migrate up`, "database is up to date"},
	}
	for _, w := range wants {
		found := false
		for i, b := range run {
			if strings.Contains(b.text, w.block) {
				found = true
				if !strings.Contains(outputs[i], w.want) {
					t.Errorf("README.md:%d printed\n%s\nwant it to contain %s", b.line, outputs[i], w.want)
				}
				break
			}
		}
		if !found {
			t.Errorf("README.md has no block with %s", w.block)
		}
	}
	// The revoke example revoked the key it made (named ci), not the app's fullAccess key.
	keys, _, _ := runCmd(t, "keys", "list", "--app", "my-app", "--db", db)
	revoked := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(keys), "\n")[1:] {
		f := strings.Fields(l)
		revoked[f[2]+"/"+f[3]] = f[len(f)-1] != "-"
	}
	if len(revoked) != 2 || !revoked["authOnly/ci"] || revoked["fullAccess/-"] {
		t.Errorf("after the README's revoke, keys list --app my-app:\n%s", keys)
	}
	p.stop(t, syscall.SIGTERM)
}
