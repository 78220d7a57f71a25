package gateway_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/gateway"
)

// newChangingServer is a real go-sdk server with a tool, a prompt and a resource, stateful
// (protocol 2025-11-25: */list_changed on the GET stream) or stateless (2026-07-28: on
// subscriptions/listen).
// handshakes counts the sessions opened to it (initialize, or server/discover).
func newChangingServer(t *testing.T, stateless bool, handshakes *atomic.Int64) (*mcp.Server, string) {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: "changing", Version: "1"}, nil)
	addItems(s, "first")
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{Stateless: stateless})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			if bytes.Contains(b, []byte(`"method":"initialize"`)) || bytes.Contains(b, []byte(`"method":"server/discover"`)) {
				handshakes.Add(1)
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
	})
	return s, hs.URL + "/mcp"
}

func addItems(s *mcp.Server, name string) {
	addTool(s, name)
	addPrompt(s, name)
	addResource(s, name)
}

func addTool(s *mcp.Server, name string) {
	s.AddTool(&mcp.Tool{Name: name, InputSchema: map[string]any{"type": "object"}}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name}}}, nil
	})
}

func addPrompt(s *mcp.Server, name string) {
	s.AddPrompt(&mcp.Prompt{Name: name}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: name}}}}, nil
	})
}

func addResource(s *mcp.Server, name string) {
	s.AddResource(&mcp.Resource{URI: "file:///" + name, Name: name}, func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: name}}}, nil
	})
}

// signals is one channel per kind of */list_changed a client session hears.
type signals map[string]chan struct{}

func (s signals) signal(kind string) {
	select {
	case s[kind] <- struct{}{}:
	default:
	}
}

// TestUpstreamListChanged: an upstream server adds a tool, a prompt, a resource while a
// client holds a gateway session; with the listings cached for an hour only the
// upstream's own */list_changed can tell the gateway, which tells the client and lists
// the new item. "reopened": the upstream's standing stream ends every second (its
// lifetime); the gateway reopens the session and still hears the next change.
func TestUpstreamListChanged(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stateless bool
		lifetime  time.Duration
	}{{"stateful", false, 0}, {"stateless", true, 0}, {"stateful/reopened", false, time.Second}, {"stateless/reopened", true, time.Second}} {
		t.Run(tc.name, func(t *testing.T) {
			var handshakes atomic.Int64
			up, url := newChangingServer(t, tc.stateless, &handshakes)
			env, c := gatewayEnv(t, func(o *gateway.Options) {
				o.ToolsTTL = time.Hour
				if tc.lifetime > 0 {
					o.Connector = probe.New(probe.Options{AllowPrivate: true, Timeout: 10 * time.Second, StreamLifetime: tc.lifetime})
				}
			})
			addServer(t, c, "up", url)
			uid, off := "watcher", gen.Off // a new tool is served at once, not held for approval
			cr, _ := env.Gen(t, env.KeyA).AgentBuilderControllerCreateAgentWithResponse(context.Background(), nil,
				gen.CreateAgentDto{Uid: &uid, Name: uid, McpServers: &[]string{"up"}, Gateway: &gen.AgentGatewayInput{Pinning: &off}})
			if cr.StatusCode() != http.StatusCreated {
				t.Fatalf("create: %s", cr.Body)
			}
			sig := signals{"tools": make(chan struct{}, 1), "prompts": make(chan struct{}, 1), "resources": make(chan struct{}, 1)}
			cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, &mcp.ClientOptions{
				ToolListChangedHandler:     func(context.Context, *mcp.ToolListChangedRequest) { sig.signal("tools") },
				PromptListChangedHandler:   func(context.Context, *mcp.PromptListChangedRequest) { sig.signal("prompts") },
				ResourceListChangedHandler: func(context.Context, *mcp.ResourceListChangedRequest) { sig.signal("resources") },
			}).Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: agentURL(env, uid), HTTPClient: &http.Client{Transport: bearer{env.KeyA}}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cs.Close() })
			ctx := context.Background()
			listed := map[string]func(name string) bool{
				"tools": func(name string) bool {
					lt, err := cs.ListTools(ctx, nil)
					if err != nil {
						t.Fatal(err)
					}
					return slices.ContainsFunc(lt.Tools, func(tl *mcp.Tool) bool { return tl.Name == "up__"+name })
				},
				"prompts": func(name string) bool {
					lp, err := cs.ListPrompts(ctx, nil)
					if err != nil {
						t.Fatal(err)
					}
					return slices.ContainsFunc(lp.Prompts, func(p *mcp.Prompt) bool { return p.Name == "up__"+name })
				},
				"resources": func(name string) bool {
					lr, err := cs.ListResources(ctx, nil)
					if err != nil {
						t.Fatal(err)
					}
					return slices.ContainsFunc(lr.Resources, func(r *mcp.Resource) bool { return r.URI == "file:///"+name })
				},
			}
			for kind, has := range listed {
				if !has("first") {
					t.Fatalf("%s before: the first is not listed", kind)
				}
			}
			if tc.lifetime > 0 {
				eventually(t, "the upstream session reopened twice", func() bool { return handshakes.Load() >= 3 })
			}
			add := map[string]func(*mcp.Server, string){"tools": addTool, "prompts": addPrompt, "resources": addResource}
			for _, kind := range []string{"tools", "prompts", "resources"} {
				add[kind](up, "added")
				// A notification, then a listing with the item: only the upstream's
				// notification can have refreshed the gateway's listing.
				for deadline := time.After(60 * time.Second); ; {
					select {
					case <-sig[kind]:
					case <-deadline:
						t.Fatalf("no notifications/%s/list_changed followed by a listing of the added one within 60 s of the upstream's change", kind)
					}
					if listed[kind]("added") {
						break
					}
				}
			}
		})
	}
}
