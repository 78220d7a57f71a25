package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/server/httpx"
)

// contractToolNames covers gateway.toolNames through the generated client (every response
// validated against openapi.yaml): the default, setting it, the 409 of each write that would
// make two servers' tools share a name under original names (nothing changes, the record is
// read back), and the withheld tools enabled-items shows when a clash appears later.
func contractToolNames(t *testing.T, c *gen.ClientWithResponses) {
	t.Helper()
	ctx := context.Background()
	// Real MCP servers whose tools are all named tool_0, tool_1, …: any two clash.
	for _, slug := range []string{"names-a", "names-b", "names-c"} {
		cr, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{Name: slug, Slug: slug, Url: apitest.MCPServer(t, 2)})
		if cr.StatusCode() != http.StatusCreated {
			t.Fatalf("create %s: %s", slug, cr.Body)
		}
	}
	probe := func(slug string) {
		t.Helper()
		if pr, _ := c.McpServersControllerProbeMcpServerWithResponse(ctx, slug); pr.StatusCode() != http.StatusOK || pr.JSON200.Status != "ok" {
			t.Fatalf("probe %s: %d %s", slug, pr.StatusCode(), pr.Body)
		}
	}
	probe("names-a")
	probe("names-b") // names-c is never probed yet: it offers nothing
	original := &gen.AgentGatewayInput{ToolNames: ptr(gen.Original)}
	wantConflict := func(status int, body []byte, field string) {
		t.Helper()
		e := wantError(t, status, body, http.StatusConflict, httpx.CodeToolNameConflict)
		if !strings.Contains(e.Message, `"names-a"`) || !strings.Contains(e.Message, `"names-b"`) || !strings.Contains(e.Message, `"tool_0"`) ||
			strings.Join(apitest.Fields(e), ",") != field {
			t.Fatalf("the conflict names the tool, both servers and %s: %+v", field, e)
		}
	}
	getBody := func(uid string) string {
		t.Helper()
		gr, _ := c.AgentBuilderControllerGetAgentByUidWithResponse(ctx, uid, nil)
		if gr.StatusCode() != http.StatusOK {
			t.Fatalf("get %s: %d %s", uid, gr.StatusCode(), gr.Body)
		}
		return string(gr.Body)
	}

	cr, _ := c.AgentBuilderControllerCreateAgentWithResponse(ctx, nil, gen.CreateAgentDto{Uid: ptr("names"), Name: "N", Gateway: original,
		McpServers: &[]string{"names-a", "names-b"}})
	wantConflict(cr.StatusCode(), cr.Body, "mcpServers.0")
	if gr, _ := c.AgentBuilderControllerGetAgentByUidWithResponse(ctx, "names", nil); gr.StatusCode() != http.StatusNotFound {
		t.Fatalf("a refused create left an agent: %d %s", gr.StatusCode(), gr.Body)
	}
	cr, _ = c.AgentBuilderControllerCreateAgentWithResponse(ctx, nil, gen.CreateAgentDto{Uid: ptr("names"), Name: "N", Gateway: original,
		McpServers: &[]string{"names-a", "names-c"}})
	if cr.StatusCode() != http.StatusCreated || cr.JSON201.Gateway.ToolNames != gen.Original {
		t.Fatalf("create with original names: %d %s", cr.StatusCode(), cr.Body)
	}
	before := getBody("names")

	add, _ := c.AgentBuilderControllerAddMcpServersToAgentWithResponse(ctx, "names", gen.ManageAgentMcpDto{Mcps: []string{"names-b"}})
	wantConflict(add.StatusCode(), add.Body, "mcps.0")
	up, _ := c.AgentBuilderControllerUpdateAgentWithResponse(ctx, "names", nil, gen.UpdateAgentDto{Name: ptr("Renamed"), McpServers: &[]string{"names-b", "names-a"}})
	wantConflict(up.StatusCode(), up.Body, "mcpServers.0")
	if after := getBody("names"); after != before {
		t.Fatalf("a refused write changed the agent:\n%s\n%s", before, after)
	}

	// The default is prefixed, under which nothing clashes; switching to original is refused
	// while two attached servers' tools share a name.
	pr, _ := c.AgentBuilderControllerCreateAgentWithResponse(ctx, nil, gen.CreateAgentDto{Uid: ptr("names-p"), Name: "P", McpServers: &[]string{"names-a", "names-b"}})
	if pr.StatusCode() != http.StatusCreated || pr.JSON201.Gateway.ToolNames != gen.Prefixed {
		t.Fatalf("create with the default names: %d %s", pr.StatusCode(), pr.Body)
	}
	beforeP := getBody("names-p")
	sw, _ := c.AgentBuilderControllerUpdateAgentWithResponse(ctx, "names-p", nil, gen.UpdateAgentDto{Gateway: original})
	wantConflict(sw.StatusCode(), sw.Body, "gateway.toolNames")
	keep, _ := c.AgentBuilderControllerUpdateAgentWithResponse(ctx, "names-p", nil, gen.UpdateAgentDto{Gateway: &gen.AgentGatewayInput{}})
	if keep.StatusCode() != http.StatusOK || string(keep.Body) != beforeP {
		t.Fatalf("an empty gateway changes nothing: %d %s", keep.StatusCode(), keep.Body)
	}
	ok, _ := c.AgentBuilderControllerUpdateAgentWithResponse(ctx, "names-p", nil, gen.UpdateAgentDto{Gateway: original, McpServers: &[]string{"names-b"}})
	if ok.StatusCode() != http.StatusOK || ok.JSON200.Gateway.ToolNames != gen.Original || len(ok.JSON200.McpServers) != 1 {
		t.Fatalf("switch with one server: %d %s", ok.StatusCode(), ok.Body)
	}
	bad, _ := c.AgentBuilderControllerUpdateAgentWithResponse(ctx, "names-p", nil, gen.UpdateAgentDto{Gateway: &gen.AgentGatewayInput{ToolNames: ptr(gen.ToolNames("short"))}})
	if e := wantError(t, bad.StatusCode(), bad.Body, http.StatusBadRequest, httpx.CodeValidation); !strings.HasPrefix(strings.Join(apitest.Fields(e), ","), "gateway") {
		t.Fatalf("a bad toolNames names the field: %+v", e)
	}

	// names-c starts offering tool_0 and tool_1 after it was attached: names-a, attached
	// first, keeps them and enabled-items shows names-c's withheld.
	probe("names-c")
	er, _ := c.AgentBuilderControllerGetEnabledItemsWithResponse(ctx, "names", nil)
	if er.StatusCode() != http.StatusOK || len(er.JSON200.Data.McpServers) != 2 {
		t.Fatalf("enabled items: %d %s", er.StatusCode(), er.Body)
	}
	s0, s1 := er.JSON200.Data.McpServers[0], er.JSON200.Data.McpServers[1]
	if s0.Slug != "names-a" || s0.WithheldTools != nil || s1.Slug != "names-c" || len(s1.WithheldTools) != 2 ||
		s1.WithheldTools[0].Name != "tool_0" || s1.WithheldTools[0].Reason != gen.WithheldToolReasonNameConflict || s1.WithheldTools[0].ConflictsWith == nil || *s1.WithheldTools[0].ConflictsWith != "names-a" || s1.WithheldTools[1].Name != "tool_1" {
		t.Fatalf("withheld tools: %s", er.Body)
	}
	if ep, _ := c.AgentBuilderControllerGetEnabledItemsWithResponse(ctx, "names-p", nil); ep.StatusCode() != http.StatusOK || strings.Contains(string(ep.Body), "withheldTools") {
		t.Fatalf("an agent without clashes withholds nothing: %s", ep.Body)
	}
}
