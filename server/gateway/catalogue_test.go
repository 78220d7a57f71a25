package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// newLibrary serves a prompt "greet" and a resource file:///readme (both servers of the
// test offer the same ones), answering with its name.
func newLibrary(t *testing.T, name string) string {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, nil)
	s.AddPrompt(&mcp.Prompt{Name: "greet"}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "hello from " + name}}}}, nil
	})
	s.AddResource(&mcp.Resource{URI: "file:///readme", Name: "readme"}, func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: "readme of " + name}}}, nil
	})
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
	})
	return hs.URL + "/mcp"
}

// TestPromptsAndResourcesAcrossServers: prompts are prefixed like tools; a resource URI is
// kept while one server offers it and served as agentmcp://server/{slug}/{uri} for each once
// two do; attaching tells open sessions that prompts and resources changed.
func TestPromptsAndResourcesAcrossServers(t *testing.T) {
	env, c := gatewayEnv(t, nil)
	addServer(t, c, "one", newLibrary(t, "one"))
	addServer(t, c, "two", newLibrary(t, "two"))
	uid := addAgent(t, c, "lib", "one")
	prompts, resources := make(chan struct{}, 1), make(chan struct{}, 1)
	signal := func(ch chan struct{}) {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, &mcp.ClientOptions{
		PromptListChangedHandler:   func(context.Context, *mcp.PromptListChangedRequest) { signal(prompts) },
		ResourceListChangedHandler: func(context.Context, *mcp.ResourceListChangedRequest) { signal(resources) },
	}).Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: agentURL(env, uid), HTTPClient: &http.Client{Transport: bearer{env.KeyA}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	ctx := context.Background()
	if init := cs.InitializeResult(); init.Capabilities.Prompts == nil || init.Capabilities.Resources == nil {
		t.Fatalf("capabilities: %+v", init.Capabilities)
	}
	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "file:///readme"})
	if err != nil || rr.Contents[0].Text != "readme of one" {
		t.Fatalf("a unique URI: %v %+v", err, rr)
	}
	gp, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "one__greet"})
	if err != nil || gp.Messages[0].Content.(*mcp.TextContent).Text != "hello from one" {
		t.Fatalf("prompt: %v %+v", err, gp)
	}

	if _, err := c.AddMCPServers(ctx, uid, "two"); err != nil {
		t.Fatal(err)
	}
	for what, ch := range map[string]chan struct{}{"prompts": prompts, "resources": resources} {
		select {
		case <-ch:
		case <-time.After(20 * time.Second):
			t.Fatalf("no notifications/%s/list_changed within 20 s of an attach", what)
		}
	}
	lr, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	uris := map[string]bool{}
	for _, r := range lr.Resources {
		uris[r.URI] = true
	}
	if len(uris) != 2 || !uris["agentmcp://server/one/file:///readme"] || !uris["agentmcp://server/two/file:///readme"] {
		t.Fatalf("clashing URIs: %v", uris)
	}
	rr, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "agentmcp://server/two/file:///readme"})
	if err != nil || rr.Contents[0].Text != "readme of two" || rr.Contents[0].URI != "agentmcp://server/two/file:///readme" {
		t.Fatalf("a rewritten URI: %v %+v", err, rr)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "file:///readme"}); err == nil {
		t.Fatal("a clashing URI is still served as it is")
	}
	gp, err = cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "two__greet"})
	if err != nil || gp.Messages[0].Content.(*mcp.TextContent).Text != "hello from two" {
		t.Fatalf("the second server's prompt: %v %+v", err, gp)
	}
}
