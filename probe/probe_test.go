package probe_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/probe"
)

// mcpServer is a real MCP server built with the SDK, with n tools and a page size of 2.
func mcpServer(n int) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "test-server", Version: "1.2.3"}, &mcp.ServerOptions{PageSize: 2})
	for i := range n {
		s.AddTool(&mcp.Tool{
			Name: fmt.Sprintf("tool_%d", i), Title: fmt.Sprintf("Tool %d", i), Description: "does thing " + fmt.Sprint(i),
			InputSchema: map[string]any{"type": "object", "properties": map[string]any{"q": map[string]any{"type": "string"}}},
			Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true},
		}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	}
	return s
}

func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

var local = probe.New(probe.Options{AllowPrivate: true, Timeout: 3 * time.Second})

func TestStreamableWithToolPagination(t *testing.T) {
	s := mcpServer(3)
	srv := serve(t, mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	r := local.Probe(context.Background(), srv.URL+"/mcp", nil)
	if r.Status != probe.StatusOK || r.ServerName != "test-server" || r.ServerVersion != "1.2.3" || r.ProtocolVersion == "" || r.Error != "" {
		t.Fatalf("%+v", r)
	}
	if len(r.Tools) != 3 || r.Tools[2].Name != "tool_2" || r.Tools[0].Title != "Tool 0" || r.Tools[1].Description != "does thing 1" ||
		r.Tools[0].InputSchema == nil || r.Tools[0].Annotations == nil {
		t.Fatalf("tools: %+v", r.Tools)
	}
	if _, ok := r.Capabilities["tools"]; !ok || r.Latency <= 0 || r.CheckedAt.IsZero() {
		t.Fatalf("%+v", r)
	}
	capped := probe.New(probe.Options{AllowPrivate: true, MaxTools: 2}).Probe(context.Background(), srv.URL+"/mcp", nil)
	if capped.Status != probe.StatusOK || len(capped.Tools) != 2 || !capped.ToolsTruncated {
		t.Fatalf("cap: %+v", capped)
	}
}

func TestLegacySSE(t *testing.T) {
	s := mcpServer(1)
	h := mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return s }, nil)
	mux := http.NewServeMux()
	mux.Handle("/sse", h)
	mux.Handle("/legacy", h) // same transport at a path without /sse: found by the fallback
	srv := serve(t, mux)
	for _, path := range []string{"/sse", "/legacy"} {
		r := local.Probe(context.Background(), srv.URL+path, nil)
		if r.Status != probe.StatusOK || len(r.Tools) != 1 || r.ServerName != "test-server" {
			t.Fatalf("%s: %+v", path, r)
		}
	}
}

func TestAuthRequired(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mcp", resource_metadata="https://auth.example.com/.well-known/oauth-protected-resource"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}))
	r := local.Probe(context.Background(), srv.URL+"/mcp", nil)
	if r.Status != probe.StatusAuthRequired || r.AuthScheme != "Bearer" || r.ResourceMetadata != "https://auth.example.com/.well-known/oauth-protected-resource" {
		t.Fatalf("%+v", r)
	}
}

func TestNotMCP(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"html page": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>hello</html>")
		},
		"404 everywhere": http.NotFound,
		"json, not json-rpc": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"hello":"world"}`)
		},
	} {
		srv := serve(t, h)
		if r := local.Probe(context.Background(), srv.URL+"/mcp", nil); r.Status != probe.StatusNotMCP {
			t.Fatalf("%s: %+v", name, r)
		}
	}
}

func TestTimeout(t *testing.T) {
	hang := make(chan struct{})
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer close(hang)
	p := probe.New(probe.Options{AllowPrivate: true, Timeout: 300 * time.Millisecond})
	r := p.Probe(context.Background(), srv.URL+"/mcp", nil)
	if r.Status != probe.StatusTimeout || r.Latency > 3*time.Second {
		t.Fatalf("%+v", r)
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a closed port
	if r := local.Probe(context.Background(), "http://"+addr+"/mcp", nil); r.Status != probe.StatusUnreachable {
		t.Fatalf("%+v", r)
	}
	if r := local.Probe(context.Background(), "http://no-such-host.invalid/mcp", nil); r.Status != probe.StatusUnreachable {
		t.Fatalf("DNS failure: %+v", r)
	}
}

func TestRedirects(t *testing.T) {
	s := mcpServer(1)
	target := serve(t, mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(target.URL, "http://"))
	// Same host (127.0.0.1), other port: followed.
	same := serve(t, http.RedirectHandler(target.URL+"/mcp", http.StatusTemporaryRedirect))
	if r := local.Probe(context.Background(), same.URL+"/mcp", nil); r.Status != probe.StatusOK {
		t.Fatalf("same-host redirect: %+v", r)
	}
	// Another host name ("localhost"), even for the same machine: refused.
	var hits atomic.Int32
	other := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	_, otherPort, _ := net.SplitHostPort(strings.TrimPrefix(other.URL, "http://"))
	away := serve(t, http.RedirectHandler("http://localhost:"+otherPort+"/mcp", http.StatusTemporaryRedirect))
	if r := local.Probe(context.Background(), away.URL+"/mcp", nil); r.Status != probe.StatusBlocked || hits.Load() != 0 {
		t.Fatalf("cross-host redirect: %+v, target hit %d times", r, hits.Load())
	}
	_ = port
}

// TestBlocked: without AllowPrivate, non-public targets are refused before any connection.
func TestBlocked(t *testing.T) {
	var hits atomic.Int32
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	strict := probe.New(probe.Options{Timeout: 3 * time.Second})
	for _, u := range []string{
		"http://127.0.0.1:" + port + "/mcp",
		"http://localhost:" + port + "/mcp", // a name that resolves to loopback
		"http://[::1]:" + port + "/mcp",
		"http://10.0.0.1/mcp",
		"http://169.254.169.254/latest/meta-data",
		"http://[fc00::1]/mcp",
		"http://100.64.0.1/mcp",
		"http://0.0.0.0:" + port + "/mcp",
	} {
		if r := strict.Probe(context.Background(), u, nil); r.Status != probe.StatusBlocked {
			t.Errorf("%s: %+v", u, r)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("the target saw %d requests", hits.Load())
	}
}

func TestPublic(t *testing.T) {
	for s, want := range map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "2606:4700::1111": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "169.254.169.254": false,
		"100.64.1.1": false, "224.0.0.1": false, "0.0.0.0": false, "::1": false, "fe80::1": false, "fd00::1": false,
		"::ffff:127.0.0.1": false, "::ffff:8.8.8.8": true, "64:ff9b::a00:1": false, "2002:a00:1::": false, "255.255.255.255": false,
	} {
		if got := probe.Public(netip.MustParseAddr(s)); got != want {
			t.Errorf("Public(%s) = %v", s, got)
		}
	}
}
