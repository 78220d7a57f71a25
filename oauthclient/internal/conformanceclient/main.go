// Command conformanceclient is the MCP conformance suite's client (`conformance client
// --command`) for agentmcp's upstream OAuth: it registers the scenario's MCP server (its
// last argument) in a running agentmcp with auth type oauth, connects it (opening the
// authorization URL, which the suite's authorization server approves at once, back to
// agentmcp's callback), and calls the server's tools through an agent's gateway. On a
// refusal for missing scopes it authorizes again, at most twice in all.
//
// Environment: AGENTMCP_URL (the API base, ending in /v3), AGENTMCP_KEY (a fullAccess
// key), and the suite's MCP_CONFORMANCE_SCENARIO and MCP_CONFORMANCE_CONTEXT.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/gen"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "conformanceclient:", err)
		os.Exit(1)
	}
}

type scenarioContext struct {
	ClientID         string `json:"client_id"`
	ClientSecret     string `json:"client_secret"`
	PrivateKeyPEM    string `json:"private_key_pem"`
	SigningAlgorithm string `json:"signing_algorithm"`
}

func run() error {
	if len(os.Args) < 2 {
		return errors.New("usage: conformanceclient SERVER_URL")
	}
	serverURL := os.Args[len(os.Args)-1]
	base, key := os.Getenv("AGENTMCP_URL"), os.Getenv("AGENTMCP_KEY")
	scenario := os.Getenv("MCP_CONFORMANCE_SCENARIO")
	var sc scenarioContext
	if s := os.Getenv("MCP_CONFORMANCE_CONTEXT"); s != "" {
		if err := json.Unmarshal([]byte(s), &sc); err != nil {
			return fmt.Errorf("MCP_CONFORMANCE_CONTEXT: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.New(base, key)
	if err != nil {
		return err
	}
	slug := "conf-" + strings.ToLower(rand.Text()[:10])
	in := client.AuthInput{Type: gen.McpServerAuthInputTypeOauth}
	grant := gen.McpServerAuthInputGrantAuthorizationCode
	if strings.Contains(scenario, "client-credentials") {
		grant = gen.McpServerAuthInputGrantClientCredentials
	}
	in.Grant = &grant
	if sc.ClientID != "" {
		in.ClientId = &sc.ClientID
	}
	if sc.ClientSecret != "" {
		in.ClientSecret = &sc.ClientSecret
	}
	if sc.PrivateKeyPEM != "" {
		in.PrivateKeyPem = &sc.PrivateKeyPEM
		if sc.SigningAlgorithm != "" {
			alg := gen.McpServerAuthInputSigningAlgorithm(sc.SigningAlgorithm)
			in.SigningAlgorithm = &alg
		}
	}
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: slug, Slug: slug, Url: serverURL, Auth: &in}); err != nil {
		return fmt.Errorf("create server: %w", err)
	}
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: slug, Uid: &slug, McpServers: &[]string{slug}}); err != nil {
		return fmt.Errorf("create agent: %w", err)
	}
	original := client.ToolNamesOriginal
	if _, err := c.UpdateAgent(ctx, slug, client.UpdateAgent{Gateway: &client.AgentGatewayInput{ToolNames: &original}}); err != nil {
		return fmt.Errorf("update agent: %w", err)
	}
	gateway := strings.TrimRight(base, "/") + "/ai-agents/agent-builder/agents/" + slug + "/mcp"
	authorizations := 0
	if grant == gen.McpServerAuthInputGrantAuthorizationCode {
		if err := connect(ctx, c, slug); err != nil {
			return err
		}
		authorizations++
	}
	for {
		err := callTools(ctx, gateway, key)
		if err == nil {
			return nil
		}
		m, gerr := c.GetServer(ctx, slug)
		if gerr != nil || m.Auth == nil || len(m.Auth.StepUpScopes) == 0 || authorizations >= 2 || grant != gen.McpServerAuthInputGrantAuthorizationCode {
			return err
		}
		fmt.Fprintf(os.Stderr, "step-up to %v after: %v\n", m.Auth.StepUpScopes, err)
		if err := connect(ctx, c, slug); err != nil {
			return err
		}
		authorizations++
	}
}

// connect asks agentmcp for the authorization URL and opens it as a browser would. A
// redirect to agentmcp's public URL (AGENTMCP_PUBLIC_URL, which may be a name only the
// authorization server knows, as the suite's client metadata URL is) goes to
// AGENTMCP_ORIGIN instead.
func connect(ctx context.Context, c *client.Client, slug string) error {
	u, err := c.AuthorizeServer(ctx, slug)
	if err != nil {
		return fmt.Errorf("authorize: %w", err)
	}
	public, origin := os.Getenv("AGENTMCP_PUBLIC_URL"), os.Getenv("AGENTMCP_ORIGIN")
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range 10 {
		if public != "" && strings.HasPrefix(u, public+"/") {
			u = origin + strings.TrimPrefix(u, public)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("opening the authorization URL: %w", err)
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			next, err := resp.Request.URL.Parse(loc)
			if err != nil {
				return err
			}
			u = next.String()
			continue
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `data-connected="true"`) {
			return fmt.Errorf("the callback answered %d: %s", resp.StatusCode, b)
		}
		return nil
	}
	return errors.New("too many redirects")
}

// callTools lists the agent's tools and calls each.
func callTools(ctx context.Context, gateway, key string) error {
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "conformanceclient", Version: "1"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: gateway, HTTPClient: &http.Client{Transport: bearer(key)}}, nil)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	defer cs.Close()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		return fmt.Errorf("tools/list: %w", err)
	}
	if len(tools.Tools) == 0 {
		return errors.New("the agent has no tools (the server is not connected)")
	}
	for _, t := range tools.Tools {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: t.Name, Arguments: map[string]any{}})
		if err != nil {
			return fmt.Errorf("tools/call %s: %w", t.Name, err)
		}
		if res.IsError {
			b, _ := json.Marshal(res.Content)
			return fmt.Errorf("tools/call %s: %s", t.Name, b)
		}
	}
	return nil
}

type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}
