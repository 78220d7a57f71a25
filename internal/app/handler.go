package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
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
	"github.com/agentmcp/agentmcp/server"
	"github.com/agentmcp/agentmcp/server/auth"
	"github.com/agentmcp/agentmcp/server/consoleui"
	"github.com/agentmcp/agentmcp/server/docsui"
	"github.com/agentmcp/agentmcp/server/gateway"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/server/registry"
	"github.com/agentmcp/agentmcp/server/rest"
	"github.com/agentmcp/agentmcp/store"
)

// BasePath is where the API is mounted.
const BasePath = server.BasePath

// handlerParts are what New built for the handler.
type handlerParts struct {
	st      store.Store
	reg     *prometheus.Registry
	creds   *keyring.Service
	prober  rest.Prober
	probes  rest.Enqueuer
	slots   *probe.Slots
	gateway gateway.Options
}

// newHandler routes the API port: health, metrics, docs, console, the REST API, the MCP
// Registry views and the agents' gateway.
func newHandler(cfg Config, p handlerParts) (http.Handler, *gateway.Gateway, error) {
	st := p.st
	log := cfg.Logger
	ttl := cfg.KeyCacheTTL
	if ttl == 0 {
		ttl = DefaultKeyCacheTTL
	}

	spec, opts, err := rest.ValidatorOptions(BasePath)
	if err != nil {
		return nil, nil, err
	}
	routes, err := rest.NewRouteTable(spec, BasePath)
	if err != nil {
		return nil, nil, err
	}

	reg := p.reg
	m := httpx.NewMetrics(reg, BasePath+"/*")
	storeOps := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "agentmcp_store_operation_duration_seconds", Help: "Store (database) operation latency by operation.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5, 1}}, []string{"op"})
	reg.MustRegister(storeOps, probe.Outcomes, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerPoolGauges(reg, st)
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

	authn := auth.New(auth.NewAPIKeys(st, ttl))
	ipRate, ipBurst := cfg.IPRateLimit, 10*cfg.RateBurst
	if ipRate == 0 {
		ipRate = 10 * cfg.RateLimit
	}
	byIP, byApp := httpx.NewLimiters(ipRate, ipBurst), httpx.NewLimiters(cfg.RateLimit, cfg.RateBurst)
	creates := map[string]bool{BasePath + "/ai-agents/agent-builder/mcp-servers": true, BasePath + "/ai-agents/agent-builder/agents": true}
	api := httpx.NewGroup(e, BasePath, byIP.Limit(httpx.IPKey), rest.Authenticate(authn), byApp.Limit(httpx.AppKey), rest.RequireJSON, httpx.ReadBody,
		rest.Validate(routes, opts), rest.Idempotent(st, creates, limitOr(cfg.IdempotencyKeysPerApp, 10000)))
	h := rest.New(st, rest.Options{Prober: p.prober, Probes: p.probes, MaxServers: limitOr(cfg.MaxServersPerApp, 10000), Credentials: p.creds, Slots: p.slots})
	if err := registry.Mount(e, st, registry.Options{PublicURL: cfg.PublicURL, Logger: log}, byIP.Limit(httpx.IPKey)); err != nil {
		return nil, nil, err
	}
	gen.RegisterHandlers(api, gen.NewStrictHandler(h, nil))

	if err := routes.Check(e, BasePath); err != nil {
		return nil, nil, err
	}
	gw := p.gateway
	gw.Store = st
	g := gateway.New(gw)
	// After the check: openapi.yaml documents the gateway, but the code generator and the
	// request validator leave it out (its body is MCP's JSON-RPC).
	serveGateway := gatewayHandler(g, authn)
	e.Any(gatewayPath, func(c echo.Context) error { // every other method, HEAD included: 405 with Allow
		c.Response().Header().Set(echo.HeaderAllow, "DELETE, GET, POST")
		return httpx.NewError(httpx.CodeMethodNotAllowed, "Method not allowed for this path.")
	})
	for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		e.Add(method, gatewayPath, httpx.Compose(serveGateway, byIP.Limit(httpx.IPKey)))
	}
	return httpx.HeadAsGet(isGatewayPath, e), g, nil
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
func gatewayHandler(g *gateway.Gateway, authn *auth.Authenticator) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		p, err := authn.Authenticate(r.Context(), auth.Credential(r.Header))
		switch {
		case errors.Is(err, auth.ErrMissing):
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="agentmcp"`)
			return httpx.NewError(httpx.CodeEmptyAPIKey, "An API key is required: Authorization: Bearer <key>, or the apikey header.")
		case errors.Is(err, auth.ErrInvalid):
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="agentmcp", error="invalid_token"`)
			return httpx.NewError(httpx.CodeAPIKeyNotFound, "The API key is not valid.")
		case err != nil:
			return err // an outage: httpx.ToError makes it a 503
		}
		uid := c.Param("uid")
		if !p.MayUseGateway(uid) {
			return httpx.NewError(httpx.CodeNoAccess, "The API key does not have access to this agent's gateway.")
		}
		c.SetRequest(r.WithContext(auth.NewContext(r.Context(), p)))
		if len(uid) > 200 {
			return httpx.NewError(httpx.CodeAgentNotFound, "Agent %q does not exist.", uid[:50]+"…")
		}
		k := store.APIKey{ID: p.KeyID, AppID: p.AppID, Scope: p.Scope, AgentUID: p.AgentUID}
		err = g.Serve(c.Response(), c.Request(), k, uid)
		if errors.Is(err, store.ErrNotFound) {
			return httpx.NewError(httpx.CodeAgentNotFound, "Agent %q does not exist.", uid)
		}
		return err
	}
}

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
