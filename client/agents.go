package client

import (
	"context"
	"iter"
	"net/http"

	"github.com/agentmcp/agentmcp/gen"
)

// Agent wire types.
type (
	Agent            = gen.Agent
	AgentList        = gen.AgentList
	CreateAgent      = gen.CreateAgentDto
	UpdateAgent      = gen.UpdateAgentDto
	EnabledMCPServer = gen.EnabledMcpServer
	EnabledParams    = gen.AgentBuilderControllerGetEnabledItemsParams
	// AgentGatewayInput sets an agent's gateway settings (nil fields keep theirs).
	AgentGatewayInput = gen.AgentGatewayInput
	ToolNames         = gen.ToolNames
	WithheldTool      = gen.WithheldTool
)

// The values of an agent's gateway.toolNames.
const (
	ToolNamesPrefixed = gen.Prefixed
	ToolNamesOriginal = gen.Original
)

// EnabledItems is what an agent can use.
type EnabledItems struct {
	Tools, FrontendActions, APITools []map[string]any
	McpServers                       []EnabledMCPServer
}

// CreateAgent creates an agent; without Uid the server generates one.
func (c *Client) CreateAgent(ctx context.Context, in CreateAgent) (*Agent, error) {
	r, err := c.c.AgentBuilderControllerCreateAgentWithResponse(ctx, nil, in)
	if err != nil {
		return nil, err
	}
	return result(r.StatusCode(), http.StatusCreated, r.Body, r.JSON201)
}

// GetAgent returns the agent with uid.
func (c *Client) GetAgent(ctx context.Context, uid string) (*Agent, error) {
	r, err := c.c.AgentBuilderControllerGetAgentByUidWithResponse(ctx, uid, nil)
	if err != nil {
		return nil, err
	}
	return result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
}

// UpdateAgent applies a partial update; a non-nil McpServers replaces the attached list.
func (c *Client) UpdateAgent(ctx context.Context, uid string, patch UpdateAgent) (*Agent, error) {
	r, err := c.c.AgentBuilderControllerUpdateAgentWithResponse(ctx, uid, nil, patch)
	if err != nil {
		return nil, err
	}
	return result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
}

// DeleteAgent deletes the agent with uid.
func (c *Client) DeleteAgent(ctx context.Context, uid string) error {
	r, err := c.c.AgentBuilderControllerDeleteAgentWithResponse(ctx, uid, nil)
	if err != nil {
		return err
	}
	_, err = result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
	return err
}

// ListAgents returns one page of agents, newest first.
func (c *Client) ListAgents(ctx context.Context, o ListOptions) (*AgentList, error) {
	p := o.params()
	r, err := c.c.AgentBuilderControllerGetAllAgentsWithResponse(ctx, &gen.AgentBuilderControllerGetAllAgentsParams{
		Limit: p.Limit, Affix: (*gen.AgentBuilderControllerGetAllAgentsParamsAffix)(p.Affix), CreatedAt: p.CreatedAt,
	})
	if err != nil {
		return nil, err
	}
	return result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
}

// AllAgents walks every agent of the app, newest first.
func (c *Client) AllAgents(ctx context.Context, pageSize int) iter.Seq2[Agent, error] {
	return walk(ListOptions{Limit: pageSize}, func(o ListOptions) ([]Agent, *gen.PageMeta, error) {
		page, err := c.ListAgents(ctx, o)
		if err != nil {
			return nil, nil, err
		}
		return page.Data, &page.Meta, nil
	})
}

// AddMCPServers attaches MCP servers (by slug) to an agent and returns the agent.
func (c *Client) AddMCPServers(ctx context.Context, uid string, slugs ...string) (*Agent, error) {
	r, err := c.c.AgentBuilderControllerAddMcpServersToAgentWithResponse(ctx, uid, gen.ManageAgentMcpDto{Mcps: slugs})
	if err != nil {
		return nil, err
	}
	res, err := result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
	if err != nil {
		return nil, err
	}
	return &res.Data, nil
}

// RemoveMCPServers detaches MCP servers from an agent; unattached slugs are ignored.
func (c *Client) RemoveMCPServers(ctx context.Context, uid string, slugs ...string) (*Agent, error) {
	r, err := c.c.AgentBuilderControllerRemoveMcpServersFromAgentWithResponse(ctx, uid, gen.ManageAgentMcpDto{Mcps: slugs})
	if err != nil {
		return nil, err
	}
	res, err := result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
	if err != nil {
		return nil, err
	}
	return &res.Data, nil
}

// EnabledItems returns what the agent can use; params may be nil.
func (c *Client) EnabledItems(ctx context.Context, uid string, params *EnabledParams) (*EnabledItems, error) {
	r, err := c.c.AgentBuilderControllerGetEnabledItemsWithResponse(ctx, uid, params)
	if err != nil {
		return nil, err
	}
	res, err := result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
	if err != nil {
		return nil, err
	}
	d := res.Data
	return &EnabledItems{Tools: d.Tools, FrontendActions: d.FrontendActions, APITools: d.ApiTools, McpServers: d.McpServers}, nil
}

// ToolChange is a definition of an agent's server that differs from the one pinned for it.
type ToolChange = gen.ToolChange

// ListToolChanges returns the agent's tool changes awaiting a decision (pending or rejected).
func (c *Client) ListToolChanges(ctx context.Context, uid string) ([]ToolChange, error) {
	r, err := c.c.AgentToolPolicyListChangesWithResponse(ctx, uid)
	if err != nil {
		return nil, err
	}
	out, err := result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
	if err != nil {
		return nil, err
	}
	return out.Data, nil
}

// DecideToolChange approves (or rejects) the agent's change pending under hash; a hash no
// longer pending is a 409 ERR_TOOL_CHANGE_STALE.
func (c *Client) DecideToolChange(ctx context.Context, uid, hash string, approve bool) (*ToolChange, error) {
	decision := "reject"
	if approve {
		decision = "approve"
	}
	r, err := c.c.AgentToolPolicyDecideWithResponse(ctx, uid, hash, decision)
	if err != nil {
		return nil, err
	}
	return result(r.StatusCode(), http.StatusOK, r.Body, r.JSON200)
}
