// Package server serves openapi.yaml: echo with kin-openapi request validation in front of
// a hand-written implementation of the generated strict server interface.
package server

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	oapimw "github.com/oapi-codegen/echo-middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agentmcp/agentmcp"
	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/docsui"
	"github.com/agentmcp/agentmcp/store"
)

// BasePath is where the API is mounted, as on CometChat (`https://{appId}.api-{region}.cometchat.io/v3`).
const BasePath = "/v3"

const maxBody = 1 << 20 // 1 MiB

// Config configures New. The zero value is usable.
type Config struct {
	// Logger receives one line per request and every 5xx. Default: discard.
	Logger *slog.Logger
	// KeyCacheTTL is how long a key lookup is remembered (default 10s; negative: never).
	// A revoked key keeps working for at most this long.
	KeyCacheTTL time.Duration
	// Prober runs POST …/probe (default: probe.New with public addresses only, 10 s).
	Prober Prober
	// Probes, when set, is told of every create and URL change (see probe.Runner).
	Probes Enqueuer
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
}

// Prober checks a URL; *probe.Prober is the real one.
type Prober interface {
	Probe(ctx context.Context, url string) probe.Result
}

// DefaultKeyCacheTTL is Config.KeyCacheTTL's default.
const DefaultKeyCacheTTL = 10 * time.Second

// New returns the HTTP handler of agentmcp over st.
func New(cfg Config, st store.Store) (*echo.Echo, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ttl := cfg.KeyCacheTTL
	if ttl == 0 {
		ttl = DefaultKeyCacheTTL
	}

	spec, opts, err := validatorOptions()
	if err != nil {
		return nil, err
	}
	routes, err := newRouteTable(spec, BasePath)
	if err != nil {
		return nil, err
	}

	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := newMetrics(reg, st)
	st = timedStore{Store: st, h: m.storeOps}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(log)

	timeout := cfg.RequestTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	e.Use(middleware.Recover())
	e.Use(middleware.RequestID())
	e.Use(deadline(timeout))
	e.Use(accessLog(log, m))
	e.Use(middleware.BodyLimit(fmt.Sprint(maxBody)))

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "The store is not ready.", Err: err}
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	if path := cmp.Or(cfg.MetricsPath, "/metrics"); path != "-" {
		e.GET(path, echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	}
	e.GET("/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", agentmcp.Spec) })
	docs := http.StripPrefix("/docs/", http.FileServerFS(docsui.Files))
	e.GET("/docs", func(c echo.Context) error {
		c.Request().URL.Path = "/docs/"
		docs.ServeHTTP(c.Response(), c.Request())
		return nil
	})
	e.GET("/docs/*", echo.WrapHandler(docs))

	keys := newKeyCache(st, ttl)
	ipRate, ipBurst := cfg.IPRateLimit, 10*cfg.RateBurst
	if ipRate == 0 {
		ipRate = 10 * cfg.RateLimit
	}
	byIP, byApp := newLimiters(ipRate, ipBurst), newLimiters(cfg.RateLimit, cfg.RateBurst)
	creates := map[string]bool{BasePath + "/ai-agents/agent-builder/mcp-servers": true, BasePath + "/ai-agents/agent-builder/agents": true}
	api := e.Group(BasePath, byIP.limit(ipKey), keys.authenticate, byApp.limit(appKey), requireJSON, validate(routes, opts), idempotent(st, creates))
	var prober Prober = probe.New(probe.Options{})
	if cfg.Prober != nil {
		prober = cfg.Prober
	}
	limit := cfg.MaxServersPerApp
	switch {
	case limit == 0:
		limit = 10000
	case limit < 0:
		limit = 0
	}
	gen.RegisterHandlers(api, gen.NewStrictHandler(&handler{st: st, prober: prober, probes: cfg.Probes, maxServers: limit}, nil))
	if err := routes.check(e, BasePath); err != nil {
		return nil, err
	}
	return e, nil
}

// validatorOptions loads the embedded spec and the options of the request validator.
func validatorOptions() (*openapi3.T, *oapimw.Options, error) {
	registerStrictJSON.Do(func() { openapi3filter.RegisterBodyDecoder(echo.MIMEApplicationJSON, strictJSON) })
	spec, err := gen.GetSwagger()
	if err != nil {
		return nil, nil, fmt.Errorf("load embedded spec: %w", err)
	}
	spec.Servers = openapi3.Servers{{URL: BasePath}}
	// authenticate has already checked the apikey of every request under BasePath; the
	// validator need not check the security requirement again.
	spec.Security = nil
	for _, item := range spec.Paths.Map() {
		for _, op := range item.Operations() {
			op.Security = nil
		}
	}
	spec.SetStringFormatValidator("uri", openapi3.NewCallbackValidator(checkHTTPURL))
	return spec, &oapimw.Options{
		ErrorHandler: func(_ echo.Context, he *echo.HTTPError) error { return validatorError(he) },
		MultiErrorHandler: func(me openapi3.MultiError) *echo.HTTPError {
			return &echo.HTTPError{Code: http.StatusBadRequest, Internal: me}
		},
		Options: openapi3filter.Options{
			MultiError:              true,
			KeepValidatedValue:      true,
			SchemaValidationOptions: spec.GetSchemaValidationOptions(),
		},
	}, nil
}

var registerStrictJSON sync.Once

// strictJSON is kin-openapi's JSON body decoder that also refuses anything after the value
// (`{...} x`), which a streaming decoder would silently ignore.
func strictJSON(body io.Reader, h http.Header, schema *openapi3.SchemaRef, enc openapi3filter.EncodingFn) (any, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	if !json.Valid(b) {
		return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat, Reason: "not one valid JSON value"}
	}
	return openapi3filter.JSONBodyDecoder(bytes.NewReader(b), h, schema, enc)
}

// checkHTTPURL is the `uri` format: an absolute http(s) URL with a host ("" is left to the
// schema's pattern, which allows it only for icon).
func checkHTTPURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("must be an absolute http or https URL with a host")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Opaque != "" {
		return errors.New("must be an absolute http or https URL with a host")
	}
	return nil
}

// requireJSON answers 415 for a body that is not JSON, before the validator reads it. An
// empty body without a Content-Type is left to the validator ("a JSON body is required").
func requireJSON(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodPost && r.Method != http.MethodPatch && r.Method != http.MethodPut {
			return next(c)
		}
		ct := r.Header.Get(echo.HeaderContentType)
		if ct == "" && r.ContentLength == 0 {
			return next(c)
		}
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != echo.MIMEApplicationJSON {
			return newError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "Content-Type must be application/json.")
		}
		return next(c)
	}
}

// deadline gives every request a deadline; the store's queries end with it.
func deadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// accessLog writes one line per request. It renders errors itself (c.Error) so the line has
// the final status. Never logs keys or bodies.
func accessLog(log *slog.Logger, m *metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			m.observe(c, time.Since(start))
			if !log.Enabled(c.Request().Context(), slog.LevelInfo) {
				return nil
			}
			app := ""
			if p, ok := PrincipalFrom(c.Request().Context()); ok {
				app = p.AppID
			}
			log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
				slog.String("method", c.Request().Method),
				slog.String("route", c.Path()),
				slog.Int("status", c.Response().Status),
				slog.Int64("duration_us", time.Since(start).Microseconds()),
				slog.String("app_id", app))
			return nil
		}
	}
}
