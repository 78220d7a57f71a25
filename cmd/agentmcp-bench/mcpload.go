package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The gateway scenarios run three kinds of processes: an upstream MCP server (the go-sdk's,
// `agentmcp-bench upstream`), agentmcp, and a raw JSON-RPC client (`agentmcp-bench mcpload`)
// that speaks Streamable HTTP by hand, so that the client's own cost is small and the same
// for the direct and the gateway runs.

// runUpstream serves --servers MCP servers (at /mcp/0, /mcp/1, …; /mcp is /mcp/0), each with
// an `echo` tool answering after --delay and --tools-1 more tools, with the go-sdk.
func runUpstream(args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	delay := fs.Duration("delay", 0, "time each tools/call takes")
	servers := fs.Int("servers", 1, "MCP servers to serve")
	tools := fs.Int("tools", 1, "tools of each server (echo and filler)")
	fs.Parse(args)
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	schema := json.RawMessage(`{"type":"object","properties":{"text":{"type":"string","description":"what to echo"}}}`)
	for i := range *servers {
		s := mcp.NewServer(&mcp.Implementation{Name: "bench-upstream-" + strconv.Itoa(i), Version: "1"}, nil)
		s.AddTool(&mcp.Tool{Name: "echo", Description: "Echoes its text.", InputSchema: schema}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if *delay > 0 {
				time.Sleep(*delay)
			}
			var in struct {
				Text string `json:"text"`
			}
			_ = json.Unmarshal(req.Params.Arguments, &in)
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil
		})
		for t := 1; t < *tools; t++ {
			name := fmt.Sprintf("tool_%04d", t)
			s.AddTool(&mcp.Tool{Name: name, Description: "Filler tool number " + strconv.Itoa(t) + " of a benchmark server, described in a sentence or two as real tools are.", InputSchema: schema},
				func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
					return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name}}}, nil
				})
		}
		h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
		mux.Handle("/mcp/"+strconv.Itoa(i), h)
		if i == 0 {
			mux.Handle("/mcp", h)
		}
	}
	srv := &http.Server{Addr: *addr, Handler: mux}
	return srv.ListenAndServe()
}

// loadOut is what one mcpload run prints (one JSON line).
type loadOut struct {
	Calls     int64   `json:"calls"`
	Errors    int64   `json:"errors"`
	ElapsedUS int64   `json:"elapsed_us"`
	P50US     float64 `json:"p50_us"`
	P99US     float64 `json:"p99_us"`
	FirstErr  string  `json:"first_error,omitempty"`
	CPUUS     int64   `json:"cpu_us,omitempty"` // --cpu-pid's CPU time over the timed calls
}

// mcpClient is one Streamable HTTP session, by hand: POST a JSON-RPC message, read the
// answer as JSON or as an event stream (the go-sdk's servers send SSE).
type mcpClient struct {
	hc      *http.Client
	url     string
	key     string
	session string
	next    int64
	buf     bytes.Buffer
}

const benchProtocol = "2025-06-18"

func newMCPClient(url, key string) *mcpClient {
	return &mcpClient{hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}, url: url, key: key}
}

var errRPC = errors.New("JSON-RPC error")

// post sends one message; with id (not a notification) it returns the result's bytes.
func (c *mcpClient) post(method string, params string, notify bool) ([]byte, error) {
	c.buf.Reset()
	c.buf.WriteString(`{"jsonrpc":"2.0",`)
	if !notify {
		c.next++
		c.buf.WriteString(`"id":`)
		c.buf.WriteString(strconv.FormatInt(c.next, 10))
		c.buf.WriteByte(',')
	}
	c.buf.WriteString(`"method":"`)
	c.buf.WriteString(method)
	c.buf.WriteString(`","params":`)
	c.buf.WriteString(params)
	c.buf.WriteByte('}')
	req, err := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(c.buf.Bytes()))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h["Content-Type"] = []string{"application/json"}
	h["Accept"] = []string{"application/json, text/event-stream"}
	if c.key != "" {
		h["Authorization"] = []string{"Bearer " + c.key}
	}
	if c.session != "" {
		h["Mcp-Session-Id"] = []string{c.session}
		h["Mcp-Protocol-Version"] = []string{benchProtocol}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s: HTTP %d: %.200s", method, resp.StatusCode, body)
	}
	if id := resp.Header.Get("Mcp-Session-Id"); id != "" {
		c.session = id
	}
	if notify {
		return nil, nil
	}
	// An event stream: the answer is the last data line (progress or log lines may come first).
	if i := bytes.LastIndex(body, []byte("data: ")); i >= 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		body = body[i+len("data: "):]
		if j := bytes.IndexByte(body, '\n'); j >= 0 {
			body = body[:j]
		}
	}
	if bytes.Contains(body, []byte(`"error":{`)) || bytes.Contains(body, []byte(`"isError":true`)) {
		return nil, fmt.Errorf("%s: %w: %.300s", method, errRPC, body)
	}
	return body, nil
}

func (c *mcpClient) initialize() error {
	if _, err := c.post("initialize", `{"protocolVersion":"`+benchProtocol+`","capabilities":{},"clientInfo":{"name":"agentmcp-bench","version":"1"}}`, false); err != nil {
		return err
	}
	_, err := c.post("notifications/initialized", `{}`, true)
	return err
}

func (c *mcpClient) close() {
	if c.session == "" {
		return
	}
	req, _ := http.NewRequest(http.MethodDelete, c.url, nil)
	req.Header.Set("Mcp-Session-Id", c.session)
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if resp, err := c.hc.Do(req); err == nil {
		resp.Body.Close()
	}
	c.hc.CloseIdleConnections()
}

// runMCPLoad opens --concurrency sessions to --url and, after a warm-up, calls --tool (or
// lists tools) in a loop on each for --duration; it prints a loadOut. With --sessions N it
// only opens N sessions (initialized, left idle) and prints how many it opened.
func runMCPLoad(args []string) error {
	fs := flag.NewFlagSet("mcpload", flag.ExitOnError)
	url := fs.String("url", "", "the MCP endpoint")
	key := fs.String("key", "", "bearer key (empty: none)")
	tool := fs.String("tool", "echo", "the tool to call")
	method := fs.String("method", "tools/call", "tools/call or tools/list")
	conc := fs.Int("concurrency", 1, "sessions calling at once")
	d := fs.Duration("duration", 2*time.Second, "how long to call")
	warm := fs.Int("warmup", 50, "calls per session before timing")
	open := fs.Int("sessions", 0, "only open this many idle sessions")
	cpuPid := fs.Int("cpu-pid", 0, "also measure this process's CPU time over the timed calls")
	fs.Parse(args)
	if *open > 0 {
		return openSessions(*url, *key, *open, *conc)
	}
	params := `{"name":"` + *tool + `","arguments":{"text":"hello from the benchmark"}}`
	if *method == "tools/list" {
		params = `{}`
	}
	clients := make([]*mcpClient, *conc)
	for i := range clients {
		clients[i] = newMCPClient(*url, *key)
		if err := clients[i].initialize(); err != nil {
			return err
		}
		defer clients[i].close()
	}
	for _, c := range clients { // warm: connections open, the gateway's upstream sessions made
		for range *warm {
			if _, err := c.post(*method, params, false); err != nil {
				return err
			}
		}
	}
	var (
		stop  atomic.Bool
		calls atomic.Int64
		errs  atomic.Int64
		first atomic.Value
		wg    sync.WaitGroup
		lat   = make([][]time.Duration, len(clients))
	)
	start, cpu0 := time.Now(), cpuTime(*cpuPid)
	for i, c := range clients {
		lat[i] = make([]time.Duration, 0, 1<<14)
		wg.Go(func() {
			for !stop.Load() {
				t := time.Now()
				_, err := c.post(*method, params, false)
				lat[i] = append(lat[i], time.Since(t))
				calls.Add(1)
				if err != nil {
					errs.Add(1)
					first.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	time.Sleep(*d)
	stop.Store(true)
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuTime(*cpuPid)-cpu0
	all := slices.Concat(lat...)
	slices.Sort(all)
	out := loadOut{Calls: calls.Load(), Errors: errs.Load(), ElapsedUS: elapsed.Microseconds(), P50US: pct(all, 50), P99US: pct(all, 99), CPUUS: cpu.Microseconds()}
	if f, ok := first.Load().(string); ok {
		out.FirstErr = f
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func pct(sorted []time.Duration, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[(len(sorted)-1)*p/100].Nanoseconds()) / 1e3
}

// openSessions opens n initialized sessions, conc at a time, and leaves them open.
func openSessions(url, key string, n, conc int) error {
	var (
		wg     sync.WaitGroup
		opened atomic.Int64
		first  atomic.Value
		next   atomic.Int64
	)
	for range max(1, conc) {
		wg.Go(func() {
			hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
			for next.Add(1) <= int64(n) {
				c := &mcpClient{hc: hc, url: url, key: key}
				if err := c.initialize(); err != nil {
					first.CompareAndSwap(nil, err.Error())
					return
				}
				opened.Add(1)
			}
		})
	}
	wg.Wait()
	out := loadOut{Calls: opened.Load()}
	if f, ok := first.Load().(string); ok {
		out.FirstErr = f
		out.Errors = 1
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
