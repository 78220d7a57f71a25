package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/testkit"
	"github.com/agentmcp/agentmcp/server"
	"github.com/agentmcp/agentmcp/server/httpx"
)

func newAgent(t *testing.T, c *client.Client, uid string, mcps ...string) client.Agent {
	t.Helper()
	in := client.CreateAgent{Uid: &uid, Name: "Agent " + uid}
	if len(mcps) > 0 {
		in.McpServers = &mcps
	}
	a, err := c.CreateAgent(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return *a
}

func TestAttachSemantics(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), server.Config{})
	c := env.Client(t, env.KeyA)
	ctx := context.Background()
	for _, s := range []string{"fs", "git", "pg"} {
		seed(t, c, s)
	}
	a := newAgent(t, c, "bot")

	// A mix of known and unknown slugs: 400 naming exactly the unknown ones; nothing changes.
	_, err := c.AddMCPServers(ctx, "bot", "fs", "nope", "git", "ghost", "nope")
	ce, ok := err.(*client.Error)
	if !ok || ce.Status != http.StatusBadRequest || ce.Code != httpx.CodeMCPServerNotFound {
		t.Fatalf("mixed add: %v", err)
	}
	var fields []string
	for _, d := range ce.Details {
		fields = append(fields, d.Field+"="+d.Message)
	}
	if strings.Join(fields, ";") != `mcps.1=MCP server "nope" does not exist;mcps.3=MCP server "ghost" does not exist;mcps.4=MCP server "nope" does not exist` {
		t.Fatalf("details: %v", fields)
	}
	if !strings.Contains(ce.Message, `"nope"`) || !strings.Contains(ce.Message, `"ghost"`) || strings.Contains(ce.Message, `"fs"`) {
		t.Fatalf("message: %s", ce.Message)
	}
	if got, _ := c.GetAgent(ctx, "bot"); len(got.McpServers) != 0 || got.UpdatedAt != a.UpdatedAt {
		t.Fatalf("a refused add changed the agent: %+v", got)
	}

	// Add twice: no duplicates, order of first attachment, updatedAt only on change.
	one, err := c.AddMCPServers(ctx, "bot", "git", "fs", "git")
	if err != nil || !slices.Equal(one.McpServers, []string{"git", "fs"}) || one.UpdatedAt <= a.UpdatedAt {
		t.Fatalf("add: %+v, %v", one, err)
	}
	two, err := c.AddMCPServers(ctx, "bot", "fs", "pg")
	if err != nil || !slices.Equal(two.McpServers, []string{"git", "fs", "pg"}) {
		t.Fatalf("second add: %+v, %v", two, err)
	}
	three, _ := c.AddMCPServers(ctx, "bot", "pg", "git")
	if !slices.Equal(three.McpServers, two.McpServers) || three.UpdatedAt != two.UpdatedAt {
		t.Fatalf("an add of attached servers changed the agent: %+v", three)
	}

	// Remove of unattached: 200, unchanged.
	if _, err := c.RemoveMCPServers(ctx, "bot", "fs"); err != nil {
		t.Fatal(err)
	}
	before, _ := c.GetAgent(ctx, "bot")
	after, err := c.RemoveMCPServers(ctx, "bot", "fs", "nope")
	if err != nil || !slices.Equal(after.McpServers, []string{"git", "pg"}) || after.UpdatedAt != before.UpdatedAt {
		t.Fatalf("remove of unattached: %+v, %v", after, err)
	}

	// Enabled items: attachment order, key filter (case-insensitive, name or description), flags.
	if _, err := c.UpdateServer(ctx, "pg", client.UpdateMCPServer{Description: ptr("PostgreSQL queries")}); err != nil {
		t.Fatal(err)
	}
	items, err := c.EnabledItems(ctx, "bot", nil)
	if err != nil || len(items.McpServers) != 2 || items.McpServers[0].Slug != "git" || items.McpServers[1].Description != "PostgreSQL queries" {
		t.Fatalf("enabled items: %+v, %v", items, err)
	}
	items, _ = c.EnabledItems(ctx, "bot", &gen.AgentBuilderControllerGetEnabledItemsParams{Key: ptr("POSTGRES")})
	if len(items.McpServers) != 1 || items.McpServers[0].Slug != "pg" {
		t.Fatalf("key filter: %+v", items)
	}
	items, _ = c.EnabledItems(ctx, "bot", &gen.AgentBuilderControllerGetEnabledItemsParams{Key: ptr("s git")}) // name "S git"
	if len(items.McpServers) != 1 || items.McpServers[0].Slug != "git" {
		t.Fatalf("key filter on name: %+v", items)
	}
	items, _ = c.EnabledItems(ctx, "bot", &gen.AgentBuilderControllerGetEnabledItemsParams{McpServers: ptr(false)})
	if len(items.McpServers) != 0 || items.Tools == nil {
		t.Fatalf("mcpServers=false: %+v", items)
	}
}

// TestConcurrentAttachDetachHTTP: 50 goroutines add and remove their own slugs on one agent
// through the API; the final list is what a serial replay of the acknowledged operations gives.
func TestConcurrentAttachDetachHTTP(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), server.Config{})
	c := env.Client(t, env.KeyA)
	slugs := make([]string, 50)
	for w := range slugs {
		slugs[w] = fmt.Sprintf("m%02d", w)
		seed(t, c, slugs[w])
	}
	newAgent(t, c, "shared")
	testkit.AttachChurn(t, []*client.Client{c}, "shared", slugs, 4, func(w, i int) bool { return (i+w)%3 != 1 })
}

// TestDeleteAttachedServer: deleting a server detaches it everywhere, even while other
// requests attach it: every attach either fails with 400 or happened before the delete.
func TestDeleteAttachedServer(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), server.Config{})
	c := env.Client(t, env.KeyA)
	ctx := context.Background()
	const agents = 10
	for i := range agents {
		newAgent(t, c, fmt.Sprintf("ag%d", i))
	}
	seed(t, c, "keep")
	for round := range 5 {
		slug := fmt.Sprintf("gone-%d", round)
		seed(t, c, slug)
		if _, err := c.AddMCPServers(ctx, "ag0", slug, "keep"); err != nil {
			t.Fatal(err)
		}
		before, _ := c.GetAgent(ctx, "ag0")
		var wg sync.WaitGroup
		for i := 1; i < agents; i++ {
			wg.Go(func() {
				_, err := c.AddMCPServers(ctx, fmt.Sprintf("ag%d", i), slug)
				if ce, ok := err.(*client.Error); err != nil && (!ok || ce.Code != httpx.CodeMCPServerNotFound) {
					t.Errorf("attach during delete: %v", err)
				}
			})
		}
		wg.Go(func() {
			if err := c.DeleteServer(ctx, slug); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		for i := range agents {
			a, _ := c.GetAgent(ctx, fmt.Sprintf("ag%d", i))
			if slices.Contains(a.McpServers, slug) {
				t.Fatalf("agent ag%d still lists deleted %s", i, slug)
			}
			if i == 0 && (a.UpdatedAt <= before.UpdatedAt || !slices.Contains(a.McpServers, "keep")) {
				t.Fatalf("ag0 after the delete: %+v", a)
			}
		}
		items, _ := c.EnabledItems(ctx, "ag0", nil)
		for _, m := range items.McpServers {
			if m.Slug == slug {
				t.Fatal("enabled items list a deleted server")
			}
		}
	}
}

func TestAgentCrossApp(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), server.Config{})
	a, b := env.Client(t, env.KeyA), env.Client(t, env.KeyB)
	ctx := context.Background()
	seed(t, a, "a-server")
	newAgent(t, a, "a-agent", "a-server")
	newAgent(t, b, "b-agent")

	if _, err := b.AddMCPServers(ctx, "b-agent", "a-server"); !isCode(err, http.StatusBadRequest, httpx.CodeMCPServerNotFound) {
		t.Fatalf("B attached A's server: %v", err)
	}
	for _, f := range []func() error{
		func() error { _, err := b.GetAgent(ctx, "a-agent"); return err },
		func() error { _, err := b.UpdateAgent(ctx, "a-agent", client.UpdateAgent{Name: ptr("x")}); return err },
		func() error { _, err := b.AddMCPServers(ctx, "a-agent", "a-server"); return err },
		func() error { _, err := b.RemoveMCPServers(ctx, "a-agent", "a-server"); return err },
		func() error { _, err := b.EnabledItems(ctx, "a-agent", nil); return err },
		func() error { return b.DeleteAgent(ctx, "a-agent") },
	} {
		if err := f(); !isCode(err, http.StatusNotFound, httpx.CodeAgentNotFound) {
			t.Fatalf("B reached A's agent: %v", err)
		}
	}
	page, err := b.ListAgents(ctx, client.ListOptions{})
	if err != nil || len(page.Data) != 1 || page.Data[0].Uid != "b-agent" {
		t.Fatalf("B lists %+v, %v", page, err)
	}
	got, _ := a.GetAgent(ctx, "a-agent")
	if !slices.Equal(got.McpServers, []string{"a-server"}) || got.Name != "Agent a-agent" {
		t.Fatalf("A's agent after B's attempts: %+v", got)
	}
}
