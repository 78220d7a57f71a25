package server_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
)

var inspectorOnce sync.Once
var inspectorErr error

// inspectorCLI installs the MCP Inspector (pinned in tools/inspector) once and returns its
// CLI's path. Without Node it skips, except in CI, which has Node and must run it.
func inspectorCLI(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("npm is needed for the MCP Inspector test")
		}
		t.Skip("npm not installed")
	}
	dir, _ := filepath.Abs("../tools/inspector")
	cli := filepath.Join(dir, "node_modules/@modelcontextprotocol/inspector/cli/build/cli.js")
	inspectorOnce.Do(func() {
		if _, err := os.Stat(cli); err == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			inspectorErr = err
			t.Logf("npm ci: %s", out)
		}
	})
	if inspectorErr != nil {
		t.Fatalf("installing the MCP Inspector: %v", inspectorErr)
	}
	return cli
}

// TestGatewayWithInspector: the MCP Inspector's CLI (a client nobody here wrote) lists the
// tools of an agent and calls one through the gateway.
func TestGatewayWithInspector(t *testing.T) {
	cli := inspectorCLI(t)
	st := apitest.OpenSQLite(t)
	env, c := gatewayEnv(t, st)
	ctx := context.Background()
	weather := newUpstream(t, "weather", 2, "", nil)
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "Weather", Slug: "weather", Url: weather.URL}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "A", Uid: ptr("inspected"), McpServers: &[]string{"weather"}}); err != nil {
		t.Fatal(err)
	}
	url := env.URL + "/ai-agents/agent-builder/agents/inspected/mcp"
	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "node", append([]string{cli, "--cli", url, "--transport", "http", "--header", "Authorization: Bearer " + env.KeyA}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("inspector %v: %v\n%s", args, err, out)
		}
		return out
	}
	var list struct {
		Tools []struct{ Name string } `json:"tools"`
	}
	if out := run("--method", "tools/list"); json.Unmarshal(out, &list) != nil || len(list.Tools) != 2 || list.Tools[0].Name != "weather__weather_0" {
		t.Fatalf("inspector tools/list: %s", out)
	}
	out := run("--method", "tools/call", "--tool-name", "weather__weather_1", "--tool-arg", "city=Paris")
	if !strings.Contains(string(out), `weather_1:{\"city\":\"Paris\"}`) {
		t.Fatalf("inspector tools/call: %s", out)
	}
}
