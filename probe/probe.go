// Package probe checks that a URL really speaks MCP, as an MCP client built on the official
// Go SDK: it connects (Streamable HTTP, or the legacy HTTP+SSE transport), initializes, lists
// the tools, and says what it found — or why it could not.
//
// It is safe to point at URLs that users registered: by default it refuses to connect to
// loopback, private and other non-public addresses, checked on the resolved IP at dial time
// (so DNS tricks and redirects cannot reach them), follows at most 3 redirects and only to
// the same host, sends stored credentials only to their own origin (scheme, host, port) and
// never a Referer, bounds the time, and bounds the bytes it reads and keeps in all (every
// response of the probe together, tools/list pages included).
package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentmcp/agentmcp/internal/redact"
)

// Status is the outcome of a probe.
type Status string

const (
	StatusOK           Status = "ok"
	StatusAuthRequired Status = "auth_required" // 401/403
	StatusNotMCP       Status = "not_mcp"       // HTTP answered, but not MCP
	StatusUnreachable  Status = "unreachable"   // DNS, connect or TLS failure
	StatusTimeout      Status = "timeout"
	StatusBlocked      Status = "blocked" // a non-public address, or a redirect to another host
)

// Tool is one tool the server offers.
type Tool struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	InputSchema any    `json:"inputSchema,omitempty"`
	Annotations any    `json:"annotations,omitempty"`
	// Invalid says what the server sent that MCP does not allow (the field is left out).
	Invalid string `json:"invalid,omitempty"`
}

// Why tools were truncated (Result.ToolsTruncatedReason).
const (
	TruncatedMaxTools = "max_tools"
	TruncatedMaxBytes = "max_bytes"
)

// Result is what a probe found.
type Result struct {
	Status          Status
	CheckedAt       time.Time
	Latency         time.Duration
	ProtocolVersion string
	ServerName      string
	ServerVersion   string
	Capabilities    map[string]any
	Tools           []Tool // on StatusOK; at most Options.MaxTools, of at most Options.MaxBytes in JSON
	ToolsTruncated  bool
	// ToolsTruncatedReason is TruncatedMaxTools or TruncatedMaxBytes when ToolsTruncated.
	ToolsTruncatedReason string
	Error                string
	// From the WWW-Authenticate header of an auth_required answer.
	AuthScheme       string
	ResourceMetadata string
	// Challenge is the WWW-Authenticate of an auth_required answer, whole (not stored).
	Challenge []string
}

// Options tune a Prober. Zero values take the defaults.
type Options struct {
	Timeout time.Duration // whole probe (default 10s)
	// MaxBytes bounds what one probe reads from the server, every response body together,
	// and the JSON of the tools it keeps (default 4 MiB). Past it the tools that fit are kept.
	// A session of Connect, which lives on, bounds each response body to it instead, and
	// each event of an event stream.
	MaxBytes     int64
	MaxTools     int  // default 1000
	AllowPrivate bool // allow loopback, private and other non-public addresses
	// StreamLifetime ends an event stream of a session of Connect in any case (default 1h),
	// and with it the session, which its owner reopens.
	StreamLifetime time.Duration
}

// Defaults of Options.
const (
	DefaultMaxBytes = 4 << 20
	DefaultMaxTools = 1000
	// DefaultStreamLifetime is the gateway's own stream lifetime (admission.DefaultStreamLifetime).
	DefaultStreamLifetime = time.Hour
)

// Prober runs probes; it is safe for concurrent use.
type Prober struct {
	opt Options
}

func New(opt Options) *Prober {
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.MaxTools <= 0 {
		opt.MaxTools = DefaultMaxTools
	}
	if opt.StreamLifetime <= 0 {
		opt.StreamLifetime = DefaultStreamLifetime
	}
	return &Prober{opt: opt}
}

var (
	errBlocked       = errors.New("address is not public")
	errRedirectHost  = errors.New("redirect to another host refused")
	errRedirectCount = errors.New("more than 3 redirects")
	errTooLarge      = errors.New("response larger than the probe's limit")
	errAuth          = errors.New("credentials")
)

// allowPrivateHint ends every refusal of a non-public address.
const allowPrivateHint = "start agentmcp with --probe-allow-private to allow private addresses for local development"

// Outcomes counts probes by status, for whichever registries want it.
var Outcomes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentmcp_probes_total", Help: "MCP server probes by outcome."}, []string{"status"})

// Auth is what a server's stored credentials send on each request to its origin: fixed
// headers (Header), or an OAuth connection's current access token, which it may renew
// when the server refuses it.
type Auth interface {
	// Header is sent on a request to the server's origin.
	Header(ctx context.Context) (http.Header, error)
	// Refused is told of a 401 or 403 answer to a request that carried sent. It returns
	// the headers to send the request again with, once, or nil and why not (nil: no reason).
	Refused(ctx context.Context, resp *http.Response, sent http.Header) (http.Header, error)
}

// Header is fixed credentials (nil: none); it never renews.
type Header http.Header

func (h Header) Header(context.Context) (http.Header, error) { return http.Header(h), nil }

func (Header) Refused(context.Context, *http.Response, http.Header) (http.Header, error) {
	return nil, nil
}

// Probe checks rawURL, sending auth (the server's stored credentials; may be nil) on
// every request. It never returns an error: every failure is a Result.
func (p *Prober) Probe(ctx context.Context, rawURL string, header Auth) Result {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, p.opt.Timeout)
	defer cancel()
	res := p.probe(ctx, rawURL, header)
	res.CheckedAt = start
	res.Latency = time.Since(start)
	Outcomes.WithLabelValues(string(res.Status)).Inc()
	return res
}

func (p *Prober) probe(ctx context.Context, rawURL string, header Auth) Result {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return Result{Status: StatusUnreachable, Error: "not an absolute http(s) URL"}
	}
	rec := &recorder{header: header, origin: Origin(u), budget: &budget{left: p.opt.MaxBytes}}
	hc := p.httpClient(rec)
	if SSE(u) {
		return p.session(ctx, &mcp.SSEClientTransport{Endpoint: rawURL, HTTPClient: hc}, rec)
	}
	res := p.session(ctx, &mcp.StreamableClientTransport{Endpoint: rawURL, HTTPClient: hc, MaxRetries: -1, DisableStandaloneSSE: true}, rec)
	// Backwards compatibility (MCP spec): a 400, 404 or 405 to the first POST means the
	// server may speak the older HTTP+SSE transport at the same URL.
	if res.Status == StatusNotMCP && ctx.Err() == nil {
		if st := rec.first(); st == http.StatusBadRequest || st == http.StatusNotFound || st == http.StatusMethodNotAllowed {
			rec2 := &recorder{header: header, origin: rec.origin, budget: rec.budget} // one bound for both attempts
			if sse := p.session(ctx, &mcp.SSEClientTransport{Endpoint: rawURL, HTTPClient: p.httpClient(rec2)}, rec2); sse.Status != StatusNotMCP {
				return sse
			}
		}
	}
	return res
}

func (p *Prober) session(ctx context.Context, t mcp.Transport, rec *recorder) Result {
	c := mcp.NewClient(&mcp.Implementation{Name: "agentmcp-probe", Version: "1.0"}, nil)
	cs, err := c.Connect(ctx, t, nil)
	if err != nil {
		return p.failure(ctx, err, rec)
	}
	defer cs.Close()
	init := cs.InitializeResult()
	res := Result{Status: StatusOK, ProtocolVersion: init.ProtocolVersion}
	if init.ServerInfo != nil {
		res.ServerName, res.ServerVersion = init.ServerInfo.Name, init.ServerInfo.Version
	}
	res.Capabilities = capabilities(init.Capabilities)
	if init.Capabilities == nil || init.Capabilities.Tools == nil {
		return res // a server without tools is still an MCP server
	}
	truncated := func(reason string) Result {
		res.ToolsTruncated, res.ToolsTruncatedReason = true, reason
		return res
	}
	cursor := ""
	kept := int64(2) // "[]"
	for {
		lt, err := cs.ListTools(ctx, &mcp.ListToolsParams{Cursor: cursor})
		if err != nil {
			if rec.exhausted() {
				return truncated(TruncatedMaxBytes) // a page past the bound: keep the earlier ones
			}
			return p.failure(ctx, fmt.Errorf("tools/list: %w", err), rec)
		}
		for _, t := range lt.Tools {
			if len(res.Tools) == p.opt.MaxTools {
				return truncated(TruncatedMaxTools)
			}
			tool := newTool(t)
			b, err := json.Marshal(tool)
			if err != nil || kept+int64(len(b))+1 > p.opt.MaxBytes {
				return truncated(TruncatedMaxBytes)
			}
			kept += int64(len(b)) + 1
			res.Tools = append(res.Tools, tool)
		}
		if lt.NextCursor == "" || lt.NextCursor == cursor {
			return res
		}
		cursor = lt.NextCursor
	}
}

// newTool keeps what the server said of t, leaving out an inputSchema that is not a JSON
// object (MCP requires one), and saying so.
func newTool(t *mcp.Tool) Tool {
	tool := Tool{Name: t.Name, Title: t.Title, Description: t.Description}
	if t.Annotations != nil {
		tool.Annotations = t.Annotations
	}
	switch s := t.InputSchema.(type) {
	case map[string]any:
		tool.InputSchema = s
	case nil:
		tool.Invalid = "inputSchema is missing"
	default:
		tool.Invalid = fmt.Sprintf("inputSchema is a JSON %s, not an object", jsonKind(s))
	}
	return tool
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case []any:
		return "array"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	}
	return "value"
}

// capabilities is the server's capabilities as plain JSON values.
func capabilities(c *mcp.ServerCapabilities) map[string]any {
	out := map[string]any{}
	if c == nil {
		return out
	}
	if c.Tools != nil {
		out["tools"] = map[string]any{"listChanged": c.Tools.ListChanged}
	}
	if c.Prompts != nil {
		out["prompts"] = map[string]any{"listChanged": c.Prompts.ListChanged}
	}
	if c.Resources != nil {
		out["resources"] = map[string]any{"listChanged": c.Resources.ListChanged, "subscribe": c.Resources.Subscribe}
	}
	if c.Logging != nil {
		out["logging"] = map[string]any{}
	}
	if c.Completions != nil {
		out["completions"] = map[string]any{}
	}
	return out
}

// failure classifies why a session could not be had.
func (p *Prober) failure(ctx context.Context, err error, rec *recorder) Result {
	res := Result{Error: redact.Text(err.Error())}
	switch {
	case errors.Is(err, errBlocked), errors.Is(err, errRedirectHost):
		res.Status = StatusBlocked
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		res.Status = StatusTimeout
	case errors.Is(err, errAuth):
		res.Status = StatusAuthRequired
	case rec.auth() != nil:
		a := rec.auth()
		res.Status = StatusAuthRequired
		res.AuthScheme, res.ResourceMetadata = parseWWWAuthenticate(a.Header.Get("WWW-Authenticate"))
		res.Challenge = a.Header.Values("WWW-Authenticate")
		res.Error = fmt.Sprintf("HTTP %d", a.StatusCode)
		if why := rec.refusedWhy(); why != "" {
			res.Error += ": " + redact.Text(why)
		}
	case rec.answered():
		res.Status = StatusNotMCP
		if st := rec.first(); st != 0 {
			res.Error = redact.Text(fmt.Sprintf("HTTP %d: %v", st, err))
		}
	default:
		res.Status = StatusUnreachable
	}
	return res
}

// parseWWWAuthenticate returns the scheme and the resource_metadata parameter.
func parseWWWAuthenticate(h string) (scheme, resourceMetadata string) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", ""
	}
	scheme, params, _ := strings.Cut(h, " ")
	for _, part := range strings.Split(params, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "resource_metadata") {
			resourceMetadata = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return scheme, resourceMetadata
}

// recorder remembers the HTTP answers the transports got and caps their bodies: all of
// them together to budget (a probe), or each to each bytes (a gateway session, which
// lives long).
type recorder struct {
	header    Auth // sent on every request to origin (credentials)
	mu        sync.Mutex
	why       string // why Auth did not renew refused credentials
	origin    string // scheme://host:port the credentials are for; "" until the first request
	statuses  []int  // the first few (a long-lived gateway session makes a request per call)
	authResp  *http.Response
	base      http.RoundTripper
	budget    *budget
	each      int64
	responses int
	life      time.Duration // of a session's event stream (0: none)
	// standing is told, once, when a session's standing stream (the one that carries
	// what the server says unasked, */list_changed among it) has ended.
	standing func()
}

// budget is the bytes left to read, shared by the bodies that draw on it.
type budget struct {
	mu   sync.Mutex
	left int64
	over bool // a read found nothing left
}

// take allows a read of up to n bytes, or none (0) once the budget is spent.
func (b *budget) take(n int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.left <= 0 {
		b.over = true
		return 0
	}
	return int(min(int64(n), b.left))
}

func (b *budget) spend(n int) {
	b.mu.Lock()
	b.left -= int64(n)
	b.mu.Unlock()
}

// RoundTrip sends the stored credentials only to their own origin (a redirect to another
// port or scheme of the same host goes without them) and never a Referer, which would
// carry the URL and its query to wherever a redirect leads.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	if r.origin == "" { // the first request of a client is to the URL the credentials are stored for
		r.origin = Origin(req.URL)
	}
	same := r.origin == Origin(req.URL)
	r.mu.Unlock()
	var sent http.Header
	if same && r.header != nil {
		h, err := r.header.Header(req.Context())
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errAuth, err)
		}
		sent = h
	}
	resp, err := r.send(req, sent)
	if err != nil {
		return nil, err
	}
	if (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) && same && r.header != nil && rewindable(req) {
		again, why := r.header.Refused(req.Context(), resp, sent)
		if again != nil {
			req2 := req.Clone(req.Context())
			if req.GetBody != nil {
				if req2.Body, err = req.GetBody(); err != nil {
					return nil, err
				}
			}
			if retry, err := r.send(req2, again); err == nil {
				resp.Body.Close()
				resp = retry
			}
		} else if why != nil {
			r.mu.Lock()
			r.why = why.Error()
			r.mu.Unlock()
		}
	}
	r.mu.Lock()
	r.responses++
	if len(r.statuses) < 8 {
		r.statuses = append(r.statuses, resp.StatusCode)
	}
	if (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) && r.authResp == nil {
		r.authResp = &http.Response{StatusCode: resp.StatusCode, Header: resp.Header.Clone()}
	}
	r.mu.Unlock()
	if r.budget == nil && r.life > 0 && eventStream(resp) {
		// A session's event stream lives on: the transport bounds each of its events
		// (MaxEventSize), the lifetime the stream.
		resp.Body = r.stream(resp.Body, req)
	} else {
		b := r.budget
		if b == nil {
			b = &budget{left: r.each}
		}
		resp.Body = &capped{r: resp.Body, b: b}
	}
	if shared := BudgetFrom(req.Context()); shared != nil {
		resp.Body = &charged{ReadCloser: resp.Body, b: shared}
	}
	return resp, nil
}

// send sends req with header set and no Referer.
func (r *recorder) send(req *http.Request, header http.Header) (*http.Response, error) {
	if len(header) > 0 || req.Header.Get("Referer") != "" {
		req = req.Clone(req.Context())
		req.Header.Del("Referer")
		for k, vs := range header {
			req.Header[k] = vs
		}
	}
	return r.base.RoundTrip(req)
}

// rewindable: the request can be sent again (no body, or one GetBody makes anew).
func rewindable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// refusedWhy is why the credentials were not renewed after a refusal ("": no reason given).
func (r *recorder) refusedWhy() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.why
}

// Budget is charged with the bytes of upstream responses read for a request (the
// gateway's admission control shares one per app and in total); Take refuses past it.
type Budget interface{ Take(n int) error }

type budgetKey struct{}

// WithBudget charges b with the bytes of every response read under ctx by the sessions
// of Connect and SessionHTTPClient: a request-scoped value, since it follows one call of a
// long-lived session through the transport.
func WithBudget(ctx context.Context, b Budget) context.Context {
	return context.WithValue(ctx, budgetKey{}, &refusals{b: b})
}

// BudgetFrom is the Budget of WithBudget in ctx, or nil.
func BudgetFrom(ctx context.Context) Budget {
	if r, ok := ctx.Value(budgetKey{}).(*refusals); ok {
		return r
	}
	return nil
}

// BudgetRefused is the first refusal of the Budget of WithBudget in ctx, or nil: a read
// it refused fails inside the MCP client, which reports only that the request ended.
func BudgetRefused(ctx context.Context) error {
	if r, ok := ctx.Value(budgetKey{}).(*refusals); ok {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.err
	}
	return nil
}

// refusals remembers the first refusal of b.
type refusals struct {
	b   Budget
	mu  sync.Mutex
	err error
}

func (r *refusals) Take(n int) error {
	err := r.b.Take(n)
	if err != nil {
		r.mu.Lock()
		if r.err == nil {
			r.err = err
		}
		r.mu.Unlock()
	}
	return err
}

// charged fails a read that its budget refuses, so the result is dropped instead of held.
type charged struct {
	io.ReadCloser
	b Budget
}

func (c *charged) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if n > 0 {
		if berr := c.b.Take(n); berr != nil {
			return 0, berr
		}
	}
	return n, err
}

// Origin is u's scheme, host and port (the default port made explicit), the unit that
// stored credentials are bound to.
func Origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// exhausted reports whether a read went past the probe's bound.
func (r *recorder) exhausted() bool {
	if r.budget == nil {
		return false
	}
	r.budget.mu.Lock()
	defer r.budget.mu.Unlock()
	return r.budget.over
}

func (r *recorder) first() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.statuses) == 0 {
		return 0
	}
	return r.statuses[0]
}

func (r *recorder) auth() *http.Response {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.authResp
}

func (r *recorder) answered() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.responses > 0
}

// eventStream: a 2xx text/event-stream answer.
func eventStream(resp *http.Response) bool {
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	return resp.StatusCode/100 == 2 && strings.EqualFold(strings.TrimSpace(ct), "text/event-stream")
}

// maxListen bounds the request body looked at for a subscriptions/listen.
const maxListen = 64 << 10

// standing reports whether req opens a standing stream: the GET of Streamable HTTP or of
// the legacy SSE transport, or a subscriptions/listen of protocol 2026-07-28 (for
// */list_changed or for a resource's updates: the SDK never reopens either, so its end
// by the server ends the session, whose owner reopens it and subscribes again).
func standing(req *http.Request) bool {
	if req.Method == http.MethodGet {
		return true
	}
	if req.Method != http.MethodPost || req.GetBody == nil || req.ContentLength > maxListen {
		return false
	}
	body, err := req.GetBody()
	if err != nil {
		return false
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, maxListen))
	if err != nil || !bytes.Contains(b, []byte(`"subscriptions/listen"`)) {
		return false
	}
	var m struct {
		Method string `json:"method"`
	}
	return json.Unmarshal(b, &m) == nil && m.Method == "subscriptions/listen"
}

// stream wraps the body of a session's event stream: closed after the recorder's
// lifetime; its end told to standing when it is the standing stream.
func (r *recorder) stream(body io.ReadCloser, req *http.Request) io.ReadCloser {
	s := &stream{ReadCloser: body, req: req.Context()}
	if r.standing != nil && standing(req) {
		s.ended = r.standing
	}
	if r.life > 0 {
		s.timer = time.AfterFunc(r.life, func() { body.Close() }) // the pending Read fails
	}
	return s
}

type stream struct {
	io.ReadCloser
	req   context.Context // the request's: done when the client ended the stream (unsubscribed, closed)
	timer *time.Timer
	ended func()
	once  sync.Once
}

func (s *stream) Read(p []byte) (int, error) {
	n, err := s.ReadCloser.Read(p)
	if err != nil {
		s.end()
	}
	return n, err
}

func (s *stream) Close() error {
	s.end()
	return s.ReadCloser.Close()
}

func (s *stream) end() {
	s.once.Do(func() {
		if s.timer != nil {
			s.timer.Stop()
		}
		if s.ended != nil && s.req.Err() == nil { // not the client's own doing
			go s.ended() // may close the session, which waits on this stream's reader
		}
	})
}

// capped fails a body read past what is left of its budget.
type capped struct {
	r io.ReadCloser
	b *budget
}

func (c *capped) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return c.r.Read(p)
	}
	n := c.b.take(len(p))
	if n == 0 {
		return 0, errTooLarge
	}
	n, err := c.r.Read(p[:n])
	c.b.spend(n)
	return n, err
}

func (c *capped) Close() error { return c.r.Close() }

func (p *Prober) httpClient(rec *recorder) *http.Client { return p.httpClientIdle(rec, 2, time.Second) }

// httpClientIdle keeps up to idle connections open for idleFor: a probe needs two for a
// moment, a gateway's long-lived session one per concurrent call (dialling a connection per
// call costs the gateway a tenth of its rate).
func (p *Prober) httpClientIdle(rec *recorder, idle int, idleFor time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: p.opt.Timeout, Control: p.control}
	tr := &http.Transport{
		Proxy:                 nil, // dial the server itself: a proxy would hide the address from the check
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   p.opt.Timeout,
		ResponseHeaderTimeout: p.opt.Timeout,
		MaxIdleConns:          idle,
		MaxIdleConnsPerHost:   idle,
		IdleConnTimeout:       idleFor,
		DisableKeepAlives:     false,
	}
	rec.base = tr
	return &http.Client{
		Transport: rec,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > 3 {
				return errRedirectCount
			}
			if !strings.EqualFold(req.URL.Hostname(), via[0].URL.Hostname()) {
				return errRedirectHost
			}
			return nil
		},
	}
}

// control runs on every connection after DNS, before connect: the address it sees is the
// one the connection would reach.
func (p *Prober) control(network, address string, _ syscall.RawConn) error {
	if p.opt.AllowPrivate {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w (%s)", errBlocked, allowPrivateHint)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !Public(ip) {
		return fmt.Errorf("%w: %s (%s)", errBlocked, host, allowPrivateHint)
	}
	return nil
}

var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
		"::/96",           // IPv4-compatible (deprecated): ::127.0.0.1 is not loopback to Go, but may reach it
		"::ffff:0:0:0/96", // IPv4-translated (SIIT)
		"64:ff9b:1::/48",  // local-use NAT64: the site's translator decides where it leads
		"100::/64",        // discard
		"2001::/23",       // IETF protocol assignments: Teredo (2001::/32, wraps any IPv4), benchmarking, ORCHID
		"2001:db8::/32",   // documentation
		"2002::/16",       // 6to4 (deprecated), wraps any IPv4
		"3fff::/20",       // documentation
		"5f00::/16",       // SRv6 SIDs
		"fec0::/10",       // site-local (deprecated)
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// nat64 is the well-known NAT64 prefix: 64:ff9b::a.b.c.d is a.b.c.d, translated.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Public reports whether ip is an address a probe may connect to by default: not loopback,
// private (RFC 1918, fc00::/7), link-local (169.254.0.0/16 with the cloud metadata address,
// fe80::/10), CGNAT, multicast, unspecified, documentation, benchmark, reserved, or an IPv6
// form that wraps an IPv4 address (mapped, compatible, translated, 6to4, Teredo). A
// well-known NAT64 address is judged by the IPv4 address it stands for, so that probing
// works on IPv6-only hosts behind DNS64.
func Public(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		return Public(netip.AddrFrom4([4]byte(b[12:])))
	}
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// sessionClient is the HTTP client of one long-lived session (Connect).
func (p *Prober) sessionClient(rec *recorder) *http.Client {
	return p.httpClientIdle(rec, 32, 90*time.Second)
}

// SessionHTTPClient is an HTTP client for requests of a session Connect opened (the same
// address policy, redirect rule and per-response body bound), sending header on each: the
// gateway's tools/call goes through it without the SDK's client (server/gateway raw.go).
func (p *Prober) SessionHTTPClient(header Auth) *http.Client {
	return p.sessionClient(&recorder{header: header, each: p.opt.MaxBytes})
}

// Connect opens an MCP client session to rawURL the way probes connect (the same address
// policy, redirect rule, body bound and transport choice: Streamable HTTP, or legacy SSE
// for /sse paths and as the fallback), sending header on every request. ctx bounds the
// handshake only; the session lives until closed, or until its standing stream (which
// carries */list_changed: the GET stream, or subscriptions/listen under protocol
// 2026-07-28) ends, by the server or past Options.StreamLifetime: its owner reopens it.
func (p *Prober) Connect(ctx context.Context, rawURL string, header Auth, c *mcp.Client) (*mcp.ClientSession, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, errors.New("not an absolute http(s) URL")
	}
	// The session's streams outlive the call that opened it: they are not charged to its budget.
	life := context.WithValue(context.WithoutCancel(ctx), budgetKey{}, nil)
	connect := func(sse bool) (*mcp.ClientSession, *recorder, error) {
		ctx, cancel := context.WithTimeout(ctx, p.opt.Timeout)
		defer cancel()
		end := &ender{}
		rec := &recorder{header: header, origin: Origin(u), each: p.opt.MaxBytes, life: p.opt.StreamLifetime, standing: end.end}
		var t mcp.Transport = &mcp.StreamableClientTransport{Endpoint: rawURL, HTTPClient: p.sessionClient(rec), MaxRetries: -1, MaxEventSize: int(p.opt.MaxBytes)}
		if sse {
			t = &mcp.SSEClientTransport{Endpoint: rawURL, HTTPClient: p.sessionClient(rec), MaxEventSize: int(p.opt.MaxBytes)}
		}
		type out struct {
			cs  *mcp.ClientSession
			err error
		}
		done := make(chan out, 1)
		lctx, lcancel := context.WithCancel(life)
		go func() {
			cs, err := c.Connect(lctx, t, nil)
			done <- out{cs, err}
		}()
		select {
		case o := <-done:
			if o.err != nil {
				lcancel()
				return nil, rec, o.err
			}
			go func() { o.cs.Wait(); lcancel() }()
			if !end.set(o.cs) {
				o.cs.Close()
				return nil, rec, errStreamEnded
			}
			return o.cs, rec, nil
		case <-ctx.Done():
			lcancel()
			return nil, rec, fmt.Errorf("connect: %w", ctx.Err())
		}
	}
	if SSE(u) {
		cs, _, err := connect(true)
		return cs, err
	}
	cs, rec, err := connect(false)
	if err != nil && !errors.Is(err, errBlocked) {
		if st := rec.first(); st == http.StatusBadRequest || st == http.StatusNotFound || st == http.StatusMethodNotAllowed {
			if sse, _, err2 := connect(true); err2 == nil {
				return sse, nil
			}
		}
	}
	if err != nil {
		return nil, classify(err, rec)
	}
	return cs, nil
}

var errStreamEnded = errors.New("the server ended its event stream during the handshake")

// ender closes a session when its standing stream ends: without that stream the session
// would live on deaf to */list_changed.
type ender struct {
	mu    sync.Mutex
	cs    *mcp.ClientSession
	ended bool
}

func (e *ender) end() {
	e.mu.Lock()
	e.ended = true
	cs := e.cs
	e.mu.Unlock()
	if cs != nil {
		cs.Close()
	}
}

// set gives e its session; false when the stream already ended.
func (e *ender) set(cs *mcp.ClientSession) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cs = cs
	return !e.ended
}

// classify names why a connection failed, in words for a tool result, with the URL's
// secrets redacted (redact.Error).
func classify(err error, rec *recorder) error {
	switch {
	case errors.Is(err, errBlocked):
		err = fmt.Errorf("blocked: %w", err) // err says how to allow private addresses
	case errors.Is(err, errAuth):
		return fmt.Errorf("auth_required: %w", redact.Error(err))
	case rec.auth() != nil:
		if why := rec.refusedWhy(); why != "" {
			return fmt.Errorf("auth_required: HTTP %d: %s", rec.auth().StatusCode, redact.Text(why))
		}
		return fmt.Errorf("auth_required: HTTP %d (store the server's credentials with its auth field)", rec.auth().StatusCode)
	}
	return redact.Error(err)
}

// Blocked reports whether err is a refusal of the address policy.
func Blocked(err error) bool { return errors.Is(err, errBlocked) || errors.Is(err, errRedirectHost) }
