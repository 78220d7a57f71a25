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
	"github.com/agentmcp/agentmcp/internal/service"
	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/oauthclient"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server"
	"github.com/agentmcp/agentmcp/server/auth"
	"github.com/agentmcp/agentmcp/server/consoleui"
	"github.com/agentmcp/agentmcp/server/docsui"
	"github.com/agentmcp/agentmcp/server/gateway"
	"github.com/agentmcp/agentmcp/server/gateway/admission"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/server/oauth"
	"github.com/agentmcp/agentmcp/server/registry"
	"github.com/agentmcp/agentmcp/server/rest"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/cache"
)

// BasePath is where the API is mounted.
const BasePath = server.BasePath

// handlerParts are what New built for the handler.
type handlerParts struct {
	st      store.Store
	reg     *prometheus.Registry
	creds   *keyring.Service
	prober  rest.Prober
	probes  service.Enqueuer
	slots   *probe.Slots
	gateway gateway.Options
	// admission bounds the gateway's streams and calls; oauth, when the backend has it, is
	// the authorization server's store.
	admission *admission.Controller
	oauth     store.OAuthStore
	// upstreamOAuth is agentmcp's OAuth client of the MCP servers that take OAuth (nil:
	// the backend keeps no connections).
	upstreamOAuth *oauthclient.Service
	// feed tells the key cache of revocations; outage bounds last-known state.
	feed   *store.Feed
	outage *cache.Outage
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
		err := st.Ping(ctx)
		switch {
		case err == nil:
			return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
		case errors.Is(err, store.ErrUnavailable) && p.outage.Serving():
			// Still ready: the data plane serves what it last knew; the control plane is 503.
			return c.JSON(http.StatusOK, map[string]string{"status": "degraded", "store": "unreachable", "dataPlane": "serving",
				"since": p.outage.Since().UTC().Format(time.RFC3339)})
		}
		return &httpx.Error{Status: http.StatusServiceUnavailable, Code: httpx.CodeUnavailable, Message: "The store is not ready.", Err: err}
	})
	registerOutageMetrics(reg, p.outage)
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

	keys := auth.NewAPIKeys(st, ttl, auth.KeyOptions{Outage: p.outage})
	if p.feed != nil {
		p.feed.Observe(keys.Changed)
	}
	authn := auth.New(keys)
	ipRate, ipBurst := cfg.IPRateLimit, 10*cfg.RateBurst
	if ipRate == 0 {
		ipRate = 10 * cfg.RateLimit
	}
	byIP, byApp := httpx.NewLimiters(ipRate, ipBurst), httpx.NewLimiters(cfg.RateLimit, cfg.RateBurst)
	creates := map[string]bool{BasePath + "/ai-agents/agent-builder/mcp-servers": true, BasePath + "/ai-agents/agent-builder/agents": true}
	api := httpx.NewGroup(e, BasePath, strictReads, byIP.Limit(httpx.IPKey), rest.Authenticate(authn), byApp.Limit(httpx.AppKey), rest.RequireJSON, httpx.ReadBody,
		rest.Validate(routes, opts), rest.Idempotent(st, creates, limitOr(cfg.IdempotencyKeysPerApp, 10000)))
	var grants rest.GrantStore
	if p.oauth != nil {
		grants = p.oauth
	}
	sopt := service.Options{Credentials: p.creds, Probes: p.probes, MaxServers: limitOr(cfg.MaxServersPerApp, 10000)}
	ropt := rest.Options{Prober: p.prober, Credentials: p.creds, Slots: p.slots, Grants: grants}
	if p.upstreamOAuth != nil {
		sopt.OAuth, ropt.OAuth = p.upstreamOAuth, p.upstreamOAuth
		// Static routes: the callback wins over the authorization server's /oauth/*.
		e.GET(oauthclient.CallbackPath, echo.WrapHandler(p.upstreamOAuth.CallbackHandler()), byIP.Limit(httpx.IPKey))
		e.GET(oauthclient.MetadataPath, echo.WrapHandler(p.upstreamOAuth.MetadataHandler()), byIP.Limit(httpx.IPKey))
	}
	h := rest.New(st, service.New(st, sopt), ropt)
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
	var as *oauth.Server
	if p.oauth != nil {
		o := cfg.OAuth
		o.Store, o.Agents, o.Keys, o.PublicURL, o.Logger = p.oauth, st, keys, cfg.PublicURL, log
		if p.outage != nil {
			o.Outage = p.outage
		}
		as = oauth.New(o)
		if p.feed != nil {
			p.feed.Observe(as.Changed)
		}
		h := echo.WrapHandler(as)
		regLimit := httpx.NewLimiters(cmp.Or(cfg.OAuthRegisterRate, 0.2), 10)
		e.GET(oauth.ResourceMetadataPrefix+"/*", h)
		e.GET(oauth.ASMetadataPath, h)
		e.GET(oauth.OIDCMetadataPath, h)
		e.POST(oauth.RegisterPath, h, byIP.Limit(httpx.IPKey), regLimit.Limit(httpx.IPKey))
		e.Any("/oauth/*", h, byIP.Limit(httpx.IPKey))
	}
	keyRate, appRate := gatewayRates(cfg.GatewayRateLimit, cfg.GatewayAppRateLimit)
	limits := gatewayLimits{byKey: httpx.NewLimiters(keyRate, max(1, int(keyRate/5))), byApp: httpx.NewLimiters(appRate, max(1, int(appRate/5)))}
	serveGateway := gatewayHandler(g, authn, st, as, p.admission, limits, p.outage)
	e.Any(gatewayPath, func(c echo.Context) error { // every other method, HEAD included: 405 with Allow
		c.Response().Header().Set(echo.HeaderAllow, "DELETE, GET, POST")
		return httpx.NewError(httpx.CodeMethodNotAllowed, "Method not allowed for this path.")
	})
	for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		e.Add(method, gatewayPath, httpx.Compose(serveGateway, byIP.LimitFailures(httpx.IPKey, unauthenticated)))
	}
	return cors(g, as != nil, httpx.HeadAsGet(isGatewayPath, e)), g, nil
}

// DefaultGatewayRateLimit is an API key's gateway requests per second per replica by
// default: above what one replica serves on 2 cores (~2,000 calls/s), so a busy agent
// runtime is limited by the machine, not by a default; an app's limit is 4 × that, so
// one key cannot take all of its app's.
const DefaultGatewayRateLimit = 5000

// gatewayRates are the per-key and per-app gateway rates of Config's (0: none).
func gatewayRates(key, app float64) (float64, float64) {
	switch {
	case key == 0:
		key = DefaultGatewayRateLimit
	case key < 0:
		key = 0
	}
	switch {
	case app == 0:
		app = 4 * DefaultGatewayRateLimit
	case app < 0:
		app = 0
	}
	return key, app
}

// gatewayLimits are the gateway's rate limits once the caller is known: its key's, then
// its app's.
type gatewayLimits struct{ byKey, byApp *httpx.Limiters }

func (l gatewayLimits) take(p auth.Principal) error {
	if err := l.byKey.Take(p.KeyID); err != nil {
		return err
	}
	return l.byApp.Take(p.AppID)
}

// unauthenticated tells the gateway's answers that spend the client address's pre-auth
// tokens: missing or bad credentials.
func unauthenticated(err error) bool {
	var he *httpx.Error
	return errors.As(err, &he) && he.Status == http.StatusUnauthorized
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
// too, for the agent they were granted for (their audience, which an auth.Verifier does
// not know), and a 401 names the gateway's resource metadata (RFC 9728 §5.1).
func gatewayHandler(g *gateway.Gateway, authn *auth.Authenticator, st store.Store, as *oauth.Server, adm *admission.Controller, limits gatewayLimits, outage *cache.Outage) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if outage.Expired() && !reachable(r.Context(), st) { // past the bound of last-known state: nothing it answered answers
			return &httpx.Error{Status: http.StatusServiceUnavailable, Code: httpx.CodeUnavailable, RetryAfter: 5,
				Message: "The store has been unreachable for longer than the gateway serves what it last knew."}
		}
		uid := c.Param("uid")
		challenge := `Bearer realm="agentmcp"`
		if as != nil && len(uid) <= 200 && !strings.ContainsAny(uid, `"\`) {
			challenge += `, resource_metadata="` + as.ResourceMetadataURL(r, uid) + `"`
		}
		secret := auth.Credential(r.Header)
		isToken := as != nil && strings.HasPrefix(secret, oauth.AccessPrefix)
		var p auth.Principal
		var err error
		if isToken {
			var k store.APIKey
			k, err = as.Verify(r.Context(), secret, uid)
			switch {
			case errors.Is(err, oauth.ErrInvalidToken):
				err = auth.ErrInvalid
			case err == nil:
				p = auth.Principal{AppID: k.AppID, KeyID: k.ID, Scope: k.Scope, AgentUID: k.AgentUID}
			}
		} else {
			p, err = authn.Authenticate(r.Context(), secret)
		}
		switch {
		case errors.Is(err, auth.ErrMissing):
			c.Response().Header().Set("WWW-Authenticate", challenge)
			return httpx.NewError(httpx.CodeEmptyAPIKey, "An API key is required: Authorization: Bearer <key>, or the apikey header.")
		case errors.Is(err, auth.ErrInvalid):
			c.Response().Header().Set("WWW-Authenticate", challenge+`, error="invalid_token"`)
			return httpx.NewError(httpx.CodeAPIKeyNotFound, "The API key is not valid.")
		case err != nil:
			return err // an outage: httpx.ToError makes it a 503
		}
		if !p.MayUseGateway(uid) {
			return httpx.NewError(httpx.CodeNoAccess, "The API key does not have access to this agent's gateway.")
		}
		if err := limits.take(p); err != nil {
			return err
		}
		c.SetRequest(r.WithContext(auth.NewContext(r.Context(), p)))
		if len(uid) > 200 {
			return httpx.NewError(httpx.CodeAgentNotFound, "Agent %q does not exist.", uid[:50]+"…")
		}
		// A stream lives only while what let it in is still valid: its key, or its token.
		stillValid := func(ctx context.Context) error {
			if isToken {
				if _, err := as.Verify(ctx, secret, uid); errors.Is(err, oauth.ErrInvalidToken) {
					return errStreamKeyRevoked
				}
				return nil
			}
			now, err := st.LookupAPIKey(ctx, store.HashKey(secret))
			if errors.Is(err, store.ErrNotFound) || (err == nil && now.RevokedAt != 0) {
				return errStreamKeyRevoked
			}
			return nil
		}
		k := store.APIKey{ID: p.KeyID, AppID: p.AppID, Scope: p.Scope, AgentUID: p.AgentUID}
		req, done, err := admit(c.Request(), adm, st, stillValid, k, uid)
		if err != nil {
			return err
		}
		defer done()
		err = g.Serve(c.Response(), req, k, uid)
		if errors.Is(err, store.ErrNotFound) {
			return httpx.NewError(httpx.CodeAgentNotFound, "Agent %q does not exist.", uid)
		}
		return err
	}
}

// admit applies the gateway's admission bounds to a request: a GET stream runs until its
// key is revoked or its agent replaced (checked without the key cache), a POST or DELETE
// has its bytes of upstream results counted. Past a bound: 429 with Retry-After.
func admit(r *http.Request, adm *admission.Controller, st store.Store, stillValid func(context.Context) error, k store.APIKey, uid string) (*http.Request, func(), error) {
	var (
		ctx  context.Context
		done func()
		err  error
	)
	if r.Method == http.MethodGet {
		a, gerr := st.GetAgent(r.Context(), k.AppID, uid)
		if gerr != nil {
			return nil, nil, rest.StoreError(gerr, httpx.CodeAgentNotFound, fmt.Sprintf("Agent %q", uid))
		}
		ctx, done, err = adm.Stream(r.Context(), k, uid, func(ctx context.Context) error {
			if err := stillValid(ctx); err != nil {
				return err
			}
			b, err := st.GetAgent(ctx, k.AppID, uid)
			if errors.Is(err, store.ErrNotFound) || (err == nil && b.CreatedAt != a.CreatedAt) {
				return errStreamAgentGone
			}
			return nil // the store unavailable: the stream goes on, checked again later
		})
	} else {
		ctx, done, err = adm.Call(r.Context(), k, uid)
	}
	var refused *admission.Refused
	if errors.As(err, &refused) {
		secs := max(1, int(refused.RetryAfter.Round(time.Second)/time.Second))
		return nil, nil, &httpx.Error{Status: http.StatusTooManyRequests, Code: httpx.CodeRateLimited, RetryAfter: secs,
			Message: "Too many requests: " + refused.Error() + "."}
	}
	if err != nil {
		return nil, nil, err
	}
	return r.WithContext(ctx), done, nil
}

var (
	errStreamKeyRevoked = errors.New("the API key of this event stream was revoked")
	errStreamAgentGone  = errors.New("the agent of this event stream was deleted")
)

// reachable pings the store (which tells the outage tracker): an outage past its bound is
// confirmed before a request is refused for it, since a failure (a slow query out of time)
// followed by silence looks like one.
func reachable(ctx context.Context, st store.Store) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return st.Ping(ctx) == nil
}

// strictReads marks the REST API's requests: their reads are the store's answer or a 503,
// never last-known state (that is the gateway's, through an outage).
func strictReads(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.SetRequest(c.Request().WithContext(cache.Strict(c.Request().Context())))
		return next(c)
	}
}

// registerOutageMetrics exports whether the store is unreachable and last-known state
// serves (the data plane degraded), and how many reads it answered.
func registerOutageMetrics(reg prometheus.Registerer, o *cache.Outage) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "agentmcp_store_unreachable", Help: "1 while the store's last answer was that it is unavailable."},
			func() float64 { return b(o.Down()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "agentmcp_degraded", Help: "1 while the store is unreachable and the gateway serves last-known state (within --last-known-for)."},
			func() float64 { return b(o.Serving()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "agentmcp_last_known_reads_total", Help: "Store reads (agents, their servers, credentials, API keys) answered from last-known state during outages."},
			func() float64 { return float64(o.ServedTotal()) }),
	)
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
