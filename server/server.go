// Package server puts agentmcp together: the HTTP plumbing (server/httpx) in front of the
// REST handlers (server/rest), with the read-only MCP Registry views (server/registry) and
// the docs, health and metrics routes beside them.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agentmcp/agentmcp"
	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/consoleui"
	"github.com/agentmcp/agentmcp/server/docsui"
	"github.com/agentmcp/agentmcp/server/gateway"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/server/oauth"
	"github.com/agentmcp/agentmcp/server/registry"
	"github.com/agentmcp/agentmcp/server/rest"
	"github.com/agentmcp/agentmcp/store"
)

// BasePath is where the API is mounted, as on CometChat (`https://{appId}.api-{region}.cometchat.io/v3`).
const BasePath = "/v3"

// Config configures New. The zero value is usable.
type Config struct {
	// Logger receives one line per request and every 5xx. Default: discard.
	Logger *slog.Logger
	// KeyCacheTTL is how long a key lookup is remembered (default 10s; negative: never).
	// A revoked key keeps working for at most this long.
	KeyCacheTTL time.Duration
	// Prober runs POST …/probe (default: probe.New with public addresses only, 10 s).
	Prober rest.Prober
	// Probes, when set, is told of every create and URL change (see probe.Runner).
	Probes rest.Enqueuer
	// MaxServersPerApp bounds each app's MCP servers (default 10,000; negative: no limit).
	MaxServersPerApp int
	// RequestTimeout is every request's deadline, passed down to the store (default 15s).
	RequestTimeout time.Duration
	// RateLimit is each app's requests per second (0: off), with RateBurst at once;
	// per replica. IPRateLimit (default 10 × RateLimit, burst 10 × RateBurst) limits each
	// client address before its key is looked up, against floods of bad keys.
	RateLimit   float64
	RateBurst   int
	IPRateLimit float64
	// Registry receives the metrics (default: a new one). MetricsPath serves it on the API
	// port (default /metrics; "-" for none, when it is served elsewhere).
	Registry    *prometheus.Registry
	MetricsPath string
	// Credentials seals and opens MCP servers' credentials (nil: none can be stored).
	Credentials *keyring.Service
	// Feed tells the gateway of changes (nil: a feed of this process's writes only).
	Feed *store.Feed
	// Gateway tunes the agents' MCP endpoints; its Store, Credentials, Logger and Registry
	// are filled in. Connector defaults to a public-addresses-only probe.Prober.
	Gateway gateway.Options
	// PublicURL is agentmcp's base URL as clients reach it (e.g. https://mcp.example.com);
	// the MCP Registry views (/registry/{appId}) make agents' gateway URLs and their names'
	// namespace from it. Default: each request's host.
	PublicURL string
	// ProbeSlots bounds the probes at once, POST …/probe and the background runner's
	// together (give the runner the same one); past it, POST …/probe is 429. Default:
	// probe.NewSlots(4, 2).
	ProbeSlots *probe.Slots
	// TrustedProxies may set X-Forwarded-For; the client address is the nearest one left of
	// them. Empty: the connection's address, whatever the header says.
	TrustedProxies []netip.Prefix
	// IdempotencyKeysPerApp bounds the idempotency records an app holds at once (default
	// 10,000; negative: no limit); past it, a create with a new key is 429.
	IdempotencyKeysPerApp int
	// OAuth tunes the authorization server of the gateways (server/oauth); its Store,
	// Agents, Keys, PublicURL and Logger are filled in. OAuthRegisterRate bounds dynamic
	// client registrations per client address (default 0.2/s, burst 10).
	OAuth             oauth.Options
	OAuthRegisterRate float64
}

// Prober checks a URL; *probe.Prober is the real one.
type Prober = rest.Prober

// Enqueuer is told of every create and URL change (see probe.Runner).
type Enqueuer = rest.Enqueuer

// Principal is the authenticated caller of a request.
type Principal = httpx.Principal

// PrincipalFrom returns the authenticated caller of a request context.
func PrincipalFrom(ctx context.Context) (Principal, bool) { return httpx.PrincipalFrom(ctx) }

// DefaultKeyCacheTTL is Config.KeyCacheTTL's default.
const DefaultKeyCacheTTL = 10 * time.Second

// New returns the HTTP handler of agentmcp over st.
func New(cfg Config, st store.Store) (http.Handler, error) {
	e, err := newEcho(cfg, st)
	if err != nil {
		return nil, err
	}
	return httpx.HeadAsGet(isGatewayPath, e), nil
}

func newEcho(cfg Config, st store.Store) (*echo.Echo, error) {
	oauthStore, _ := st.(store.OAuthStore) // before the decorators, which have none of it
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ttl := cfg.KeyCacheTTL
	if ttl == 0 {
		ttl = DefaultKeyCacheTTL
	}

	spec, opts, err := httpx.ValidatorOptions(BasePath)
	if err != nil {
		return nil, err
	}
	routes, err := httpx.NewRouteTable(spec, BasePath)
	if err != nil {
		return nil, err
	}

	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := httpx.NewMetrics(reg, BasePath+"/*")
	storeOps := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "agentmcp_store_operation_duration_seconds", Help: "Store (database) operation latency by operation.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5, 1}}, []string{"op"})
	reg.MustRegister(storeOps, probe.Outcomes, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerPoolGauges(reg, st)
	feed := cfg.Feed
	if feed == nil { // a single process: its own writes are every change
		feed = store.NewFeed()
		st = store.Publishing(st, feed)
	}
	st = newTimedStore(st, storeOps)

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = httpx.ErrorHandler(log)
	e.IPExtractor = httpx.IPExtractor(cfg.TrustedProxies)

	timeout := cfg.RequestTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	// A request without a body keeps net/http's NoBody (HTTP/1 GETs and DELETEs; an HTTP/2
	// body never is), so ReadBody sees there is nothing to read.
	bodyLimit := middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: fmt.Sprint(httpx.MaxBody),
		Skipper: func(c echo.Context) bool { return c.Request().Body == http.NoBody }})
	e.Use(httpx.Routed(middleware.Recover(), httpx.RequestID,
		httpx.Deadline(timeout, func(c echo.Context) bool { return c.Path() == gatewayPath }),
		httpx.AccessLog(log, m), httpx.LimitHeaders, bodyLimit))

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			return &httpx.Error{Status: http.StatusServiceUnavailable, Code: httpx.CodeUnavailable, Message: "The store is not ready.", Err: err}
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	if path := cmp.Or(cfg.MetricsPath, "/metrics"); path != "-" {
		e.GET(path, echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	}
	e.GET("/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", agentmcp.Spec) }, docsHeaders)
	docs := http.StripPrefix("/docs/", http.FileServerFS(docsui.Files))
	e.GET("/docs", func(c echo.Context) error {
		c.Request().URL.Path = "/docs/"
		docs.ServeHTTP(c.Response(), c.Request())
		return nil
	}, docsHeaders)
	e.GET("/docs/*", echo.WrapHandler(docs), docsHeaders)
	// The web console: static files only; it calls /v3 with the user's key like any client.
	console := echo.WrapHandler(consoleui.Handler("/console"))
	e.GET("/console", console)
	e.GET("/console/*", console)

	keys := httpx.NewKeyCache(st, ttl)
	ipRate, ipBurst := cfg.IPRateLimit, 10*cfg.RateBurst
	if ipRate == 0 {
		ipRate = 10 * cfg.RateLimit
	}
	byIP, byApp := httpx.NewLimiters(ipRate, ipBurst), httpx.NewLimiters(cfg.RateLimit, cfg.RateBurst)
	creates := map[string]bool{BasePath + "/ai-agents/agent-builder/mcp-servers": true, BasePath + "/ai-agents/agent-builder/agents": true}
	api := httpx.NewGroup(e, BasePath, byIP.Limit(httpx.IPKey), keys.Authenticate, byApp.Limit(httpx.AppKey), httpx.RequireJSON, httpx.ReadBody,
		httpx.Validate(routes, opts), httpx.Idempotent(st, creates, limitOr(cfg.IdempotencyKeysPerApp, 10000)))
	var prober Prober = probe.New(probe.Options{})
	if cfg.Prober != nil {
		prober = cfg.Prober
	}
	creds := cfg.Credentials
	if creds == nil {
		creds = &keyring.Service{Store: st}
	}
	var grants rest.GrantStore
	if oauthStore != nil {
		grants = oauthStore
	}
	h := rest.New(st, rest.Options{Prober: prober, Probes: cfg.Probes, MaxServers: limitOr(cfg.MaxServersPerApp, 10000), Credentials: creds, Slots: cfg.ProbeSlots, Grants: grants})
	if err := registry.Mount(e, st, registry.Options{PublicURL: cfg.PublicURL, Logger: log}, byIP.Limit(httpx.IPKey)); err != nil {
		return nil, err
	}
	gen.RegisterHandlers(api, gen.NewStrictHandler(h, nil))

	gw := cfg.Gateway
	gw.Store, gw.Credentials, gw.Logger, gw.Registry = st, creds, log, reg
	if gw.Connector == nil {
		gw.Connector = probe.New(probe.Options{})
	}
	if gw.PublicURL == "" {
		gw.PublicURL = cfg.PublicURL
	}
	g := gateway.New(gw)
	if err := routes.Check(e, BasePath); err != nil {
		return nil, err
	}
	// After the check: openapi.yaml documents the gateway, but the code generator and the
	// request validator leave it out (its body is MCP's JSON-RPC).
	var as *oauth.Server
	if oauthStore != nil {
		o := cfg.OAuth
		o.Store, o.Agents, o.Keys, o.PublicURL, o.Logger = oauthStore, st, keys, cfg.PublicURL, log
		as = oauth.New(o)
		h := echo.WrapHandler(as)
		regLimit := httpx.NewLimiters(cmp.Or(cfg.OAuthRegisterRate, 0.2), 10)
		e.GET(oauth.ResourceMetadataPrefix+"/*", h)
		e.GET(oauth.ASMetadataPath, h)
		e.GET(oauth.OIDCMetadataPath, h)
		e.POST(oauth.RegisterPath, h, byIP.Limit(httpx.IPKey), regLimit.Limit(httpx.IPKey))
		e.Any("/oauth/*", h, byIP.Limit(httpx.IPKey))
	}
	serveGateway := gatewayHandler(g, keys, as)
	e.Any(gatewayPath, func(c echo.Context) error { // every other method, HEAD included: 405 with Allow
		c.Response().Header().Set(echo.HeaderAllow, "DELETE, GET, POST")
		return httpx.NewError(http.StatusMethodNotAllowed, httpx.CodeMethodNotAllowed, "Method not allowed for this path.")
	})
	for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		e.Add(method, gatewayPath, httpx.Compose(serveGateway, byIP.Limit(httpx.IPKey)))
	}
	sub := feed.Subscribe(1024)
	go func() {
		for c := range sub.C {
			g.Changed(c)
		}
	}()
	return e, nil
}

// gatewayPath is the agents' MCP endpoint, in echo's syntax.
const gatewayPath = BasePath + "/ai-agents/agent-builder/agents/:uid/mcp"

// isGatewayPath tells a request for gatewayPath before routing (HEAD is not GET there: a
// GET is an event stream).
func isGatewayPath(r *http.Request) bool {
	uid, ok := strings.CutPrefix(r.URL.Path, BasePath+"/ai-agents/agent-builder/agents/")
	uid, ok2 := strings.CutSuffix(uid, "/mcp")
	return ok && ok2 && uid != "" && !strings.Contains(uid, "/")
}

// gatewayHandler authenticates a gateway request (apikey or Authorization: Bearer) and
// hands it to the gateway: a fullAccess key of the agent's app, or an agent key of this
// agent. Failures are ErrorResponses; 401s say how to authenticate (WWW-Authenticate).
//
// With an authorization server (as), OAuth access tokens (oauth.AccessPrefix) are accepted
// too, and a 401 names the gateway's resource metadata (RFC 9728 §5.1).
func gatewayHandler(g *gateway.Gateway, keys *httpx.KeyCache, as *oauth.Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		uid := c.Param("uid")
		challenge := `Bearer realm="agentmcp"`
		if as != nil && len(uid) <= 200 && !strings.ContainsAny(uid, `"\`) {
			challenge += `, resource_metadata="` + as.ResourceMetadataURL(r, uid) + `"`
		}
		secret := r.Header.Get("apikey")
		if secret == "" {
			if v := r.Header.Get("Authorization"); len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
				secret = strings.TrimSpace(v[7:])
			}
		}
		if secret == "" {
			c.Response().Header().Set("WWW-Authenticate", challenge)
			return httpx.NewError(http.StatusUnauthorized, httpx.CodeEmptyAPIKey, "An API key is required: Authorization: Bearer <key>, or the apikey header.")
		}
		var k store.APIKey
		var err error
		if as != nil && strings.HasPrefix(secret, oauth.AccessPrefix) {
			k, err = as.Verify(r.Context(), secret, uid)
			if errors.Is(err, oauth.ErrInvalidToken) {
				err = store.ErrNotFound
			}
		} else {
			k, err = keys.Lookup(r.Context(), secret)
		}
		switch {
		case errors.Is(err, store.ErrNotFound) || (err == nil && k.RevokedAt != 0):
			c.Response().Header().Set("WWW-Authenticate", challenge+`, error="invalid_token"`)
			return httpx.NewError(http.StatusUnauthorized, httpx.CodeAPIKeyNotFound, "The API key is not valid.")
		case err != nil:
			return httpx.StoreError(err, "", "")
		}
		if !(k.Scope == store.ScopeFullAccess || (k.Scope == store.ScopeAgent && k.AgentUID == uid)) {
			return httpx.NewError(http.StatusForbidden, httpx.CodeNoAccess, "The API key does not have access to this agent's gateway.")
		}
		ctx := context.WithValue(r.Context(), principalCtxKey{}, k)
		c.SetRequest(r.WithContext(httpx.WithPrincipal(ctx, httpx.Principal{AppID: k.AppID, KeyID: k.ID})))
		if len(uid) > 200 {
			return httpx.NewError(http.StatusNotFound, httpx.CodeAgentNotFound, "Agent %q does not exist.", uid[:50]+"…")
		}
		err = g.Serve(c.Response(), c.Request(), k, uid)
		if errors.Is(err, store.ErrNotFound) {
			return httpx.NewError(http.StatusNotFound, httpx.CodeAgentNotFound, "Agent %q does not exist.", uid)
		}
		return httpx.StoreError(err, httpx.CodeInternal, "")
	}
}

type principalCtxKey struct{}

// limitOr is a Config limit: 0 takes def, a negative one means none (0 below).
func limitOr(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// registerPoolGauges exports the connection pools of a store that reports them.
func registerPoolGauges(reg prometheus.Registerer, st store.Store) {
	p, ok := st.(store.Pooled)
	if !ok {
		return
	}
	for _, g := range []struct {
		state string
		f     func(store.PoolStats) int
	}{{"open", func(s store.PoolStats) int { return s.Open }}, {"in_use", func(s store.PoolStats) int { return s.InUse }},
		{"idle", func(s store.PoolStats) int { return s.Idle }}, {"max", func(s store.PoolStats) int { return s.Max }}} {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "agentmcp_db_connections", Help: "Database connections by state.",
			ConstLabels: prometheus.Labels{"state": g.state}}, func() float64 { return float64(g.f(p.PoolStats())) }))
	}
}
