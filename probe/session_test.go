package probe_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/probe"
)

// watch connects through p to a real go-sdk server (stateful: protocol 2025-11-25 and
// its GET stream; stateless: 2026-07-28 and subscriptions/listen), and returns the
// server, the session and the tools/list_changed it hears.
func watch(t *testing.T, p *probe.Prober, stateless bool) (*mcp.Server, *mcp.ClientSession, chan struct{}) {
	t.Helper()
	s := mcpServer(1)
	heard := make(chan struct{}, 1)
	cs := connectTo(t, p, s, stateless, &mcp.ClientOptions{ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { signal(heard) }})
	return s, cs, heard
}

// connectTo serves s and connects through p to it with a client of opts.
func connectTo(t *testing.T, p *probe.Prober, s *mcp.Server, stateless bool, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	srv := serve(t, mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{Stateless: stateless}))
	cs, err := p.Connect(context.Background(), srv.URL+"/mcp", nil, mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, opts))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// signal tells ch without waiting (once is enough).
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func addTool(s *mcp.Server, name string) {
	s.AddTool(&mcp.Tool{Name: name, Description: "a tool added while a client listens", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
}

func hear(t *testing.T, heard chan struct{}, what string) {
	t.Helper()
	select {
	case <-heard:
	case <-time.After(60 * time.Second):
		t.Fatalf("no notifications/tools/list_changed within 60 s of %s", what)
	}
}

func protocols(t *testing.T, f func(t *testing.T, stateless bool)) {
	for _, stateless := range []bool{false, true} {
		name := "stateful"
		if stateless {
			name = "stateless"
		}
		t.Run(name, func(t *testing.T) { f(t, stateless) })
	}
}

// TestConnectHearsListChanged: a session of Connect hears a server's tools/list_changed
// (the GET stream of protocol 2025-11-25 was disabled: nothing carried it), and keeps
// hearing them past MaxBytes in all, which bounds each event of a standing stream, not
// the stream.
func TestConnectHearsListChanged(t *testing.T) {
	protocols(t, func(t *testing.T, stateless bool) {
		p := probe.New(probe.Options{AllowPrivate: true, Timeout: 30 * time.Second, MaxBytes: 4 << 10})
		s, _, heard := watch(t, p, stateless)
		for i := range 100 { // ~100 bytes each: 10 KiB on the stream in all
			addTool(s, "added_"+string(rune('a'+i%26))+string(rune('a'+i/26)))
			hear(t, heard, "a tool added")
		}
	})
}

// TestConnectStreamLifetime: a standing stream ends after StreamLifetime, and with it the
// session (its owner reopens one), rather than live on without */list_changed.
func TestConnectStreamLifetime(t *testing.T) {
	protocols(t, func(t *testing.T, stateless bool) {
		p := probe.New(probe.Options{AllowPrivate: true, Timeout: 30 * time.Second, StreamLifetime: 300 * time.Millisecond})
		_, cs, _ := watch(t, p, stateless)
		ended := make(chan struct{})
		go func() { cs.Wait(); close(ended) }()
		select {
		case <-ended:
		case <-time.After(60 * time.Second):
			t.Fatal("the session outlived its stream's lifetime by 60 s")
		}
	})
}
