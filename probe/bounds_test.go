package probe_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// TestPublicAddressForms: every IPv6 form that can lead to a blocked IPv4 address is
// blocked, and so are the special-purpose ranges; a well-known NAT64 address is judged by
// the IPv4 address inside it.
func TestPublicAddressForms(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
		why    string
	}{
		{"8.8.8.8", true, "public IPv4"},
		{"2001:4860:4860::8888", true, "public IPv6"},
		{"127.0.0.1", false, "loopback"},
		{"10.1.2.3", false, "RFC 1918"},
		{"172.16.0.1", false, "RFC 1918"},
		{"192.168.1.1", false, "RFC 1918"},
		{"169.254.169.254", false, "link-local, cloud metadata"},
		{"100.64.0.1", false, "CGNAT"},
		{"0.0.0.0", false, "unspecified"},
		{"0.1.2.3", false, "this network"},
		{"192.0.0.1", false, "IETF protocol assignments"},
		{"192.0.2.1", false, "documentation"},
		{"192.88.99.1", false, "6to4 relay anycast"},
		{"198.18.0.1", false, "benchmarking"},
		{"198.51.100.1", false, "documentation"},
		{"203.0.113.1", false, "documentation"},
		{"224.0.0.1", false, "multicast"},
		{"240.0.0.1", false, "reserved"},
		{"255.255.255.255", false, "broadcast"},
		{"::1", false, "IPv6 loopback"},
		{"::", false, "IPv6 unspecified"},
		{"::127.0.0.1", false, "IPv4-compatible loopback"},
		{"::10.0.0.1", false, "IPv4-compatible private"},
		{"::169.254.169.254", false, "IPv4-compatible metadata"},
		{"::8.8.8.8", false, "IPv4-compatible (deprecated) even when public"},
		{"::ffff:127.0.0.1", false, "IPv4-mapped loopback"},
		{"::ffff:10.0.0.1", false, "IPv4-mapped private"},
		{"::ffff:169.254.169.254", false, "IPv4-mapped metadata"},
		{"::ffff:8.8.8.8", true, "IPv4-mapped public"},
		{"::ffff:0:127.0.0.1", false, "IPv4-translated loopback"},
		{"::ffff:0:8.8.8.8", false, "IPv4-translated"},
		{"64:ff9b::127.0.0.1", false, "NAT64 of loopback"},
		{"64:ff9b::10.0.0.1", false, "NAT64 of private"},
		{"64:ff9b::169.254.169.254", false, "NAT64 of metadata"},
		{"64:ff9b::100.64.0.1", false, "NAT64 of CGNAT"},
		{"64:ff9b::8.8.8.8", true, "NAT64 of public"},
		{"64:ff9b:1::a00:1", false, "local-use NAT64"},
		{"64:ff9b:1::808:808", false, "local-use NAT64"},
		{"2002:7f00:1::1", false, "6to4 of loopback"},
		{"2002:a9fe:a9fe::1", false, "6to4 of metadata"},
		{"2002:808:808::1", false, "6to4 (deprecated)"},
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", false, "Teredo (client 127.0.0.1)"},
		{"2001:0:4136:e378::1", false, "Teredo"},
		{"2001:2::1", false, "benchmarking"},
		{"2001:db8::1", false, "documentation"},
		{"3fff::1", false, "documentation"},
		{"100::1", false, "discard"},
		{"5f00::1", false, "SRv6"},
		{"fc00::1", false, "unique local"},
		{"fd12:3456::1", false, "unique local"},
		{"fe80::1", false, "link-local"},
		{"fe80::1%eth0", false, "link-local with a zone"},
		{"fec0::1", false, "site-local"},
		{"ff02::1", false, "multicast"},
		{"ff0e::1", false, "global multicast"},
	} {
		if got := probe.Public(netip.MustParseAddr(tc.addr)); got != tc.public {
			t.Errorf("Public(%s) = %v, want %v (%s)", tc.addr, got, tc.public, tc.why)
		}
	}
}

// TestIPv4CompatibleNotDialled: http://[::127.0.0.1]/mcp is refused before a connection.
func TestIPv4CompatibleNotDialled(t *testing.T) {
	strict := probe.New(probe.Options{Timeout: 3 * time.Second})
	for _, u := range []string{"http://[::127.0.0.1]/mcp", "http://[::ffff:127.0.0.1]/mcp", "http://[64:ff9b::7f00:1]/mcp", "http://[2002:7f00:1::1]/mcp"} {
		r := strict.Probe(context.Background(), u, nil)
		if r.Status != probe.StatusBlocked || !strings.Contains(r.Error, "not public") {
			t.Errorf("%s: %+v", u, r)
		}
	}
}

// TestTotalBytesBound: a real SDK server whose tools/list pages (one tool each) add up to
// more than the probe's bound: the probe reads about the bound, keeps the tools that fit,
// and says why it stopped — on both transports.
func TestTotalBytesBound(t *testing.T) {
	s := mcp.NewServer(&mcp.Implementation{Name: "big", Version: "1"}, &mcp.ServerOptions{PageSize: 1})
	desc := strings.Repeat("d", 400<<10)
	for i := range 20 {
		s.AddTool(&mcp.Tool{Name: fmt.Sprintf("tool_%02d", i), Description: desc, InputSchema: map[string]any{"type": "object"}},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{}, nil
			})
	}
	var written atomic.Int64
	count := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(&countWriter{ResponseWriter: w, n: &written}, r)
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", count(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)))
	mux.Handle("/sse", count(mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return s }, nil)))
	srv := serve(t, mux)
	const bound = 1 << 20
	p := probe.New(probe.Options{AllowPrivate: true, Timeout: 5 * time.Second, MaxBytes: bound})
	for _, path := range []string{"/mcp", "/sse"} {
		written.Store(0)
		r := p.Probe(context.Background(), srv.URL+path, nil)
		if r.Status != probe.StatusOK || !r.ToolsTruncated || r.ToolsTruncatedReason != probe.TruncatedMaxBytes || len(r.Tools) != 2 {
			t.Fatalf("%s: %s %v %q, %d tools: %s", path, r.Status, r.ToolsTruncated, r.ToolsTruncatedReason, len(r.Tools), r.Error)
		}
		if b, _ := json.Marshal(r.Tools); len(b) > bound {
			t.Fatalf("%s: kept %d bytes of tools", path, len(b))
		}
		// What the server managed to write before the probe stopped reading: the bound, one
		// page beyond it in flight, and the kernel's socket buffers.
		if n := written.Load(); n > 8*bound {
			t.Fatalf("%s: the server wrote %d bytes", path, n)
		}
	}
}

type countWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n.Add(int64(n))
	return n, err
}

func (w *countWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// TestInvalidInputSchema: a tool whose inputSchema is not an object is kept without it and
// says what was wrong.
func TestInvalidInputSchema(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		json.NewDecoder(r.Body).Decode(&msg)
		if msg.ID == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch msg.Method {
		case "initialize":
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"odd","version":"1"}}}`, msg.ID)
		case "tools/list":
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"tools":[{"name":"s","inputSchema":"x"},{"name":"a","inputSchema":[]},{"name":"n"},{"name":"ok","inputSchema":{"type":"object"}}]}}`, msg.ID)
		default:
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"no such method"}}`, msg.ID)
		}
	}))
	defer srv.Close()
	r := local.Probe(context.Background(), srv.URL+"/mcp", nil)
	if r.Status != probe.StatusOK || len(r.Tools) != 4 {
		t.Fatalf("%+v", r)
	}
	want := []string{"inputSchema is a JSON string, not an object", "inputSchema is a JSON array, not an object", "inputSchema is missing", ""}
	for i, tool := range r.Tools {
		if tool.Invalid != want[i] || (tool.InputSchema == nil) != (want[i] != "") {
			t.Errorf("tool %s: invalid %q, schema %v", tool.Name, tool.Invalid, tool.InputSchema)
		}
	}
}
