package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
	oapimw "github.com/oapi-codegen/echo-middleware"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/server/httpx"
)

// RouteTable maps echo's matched route (method and path template) to the spec's operation,
// so request validation does not match the path a second time with regular expressions:
// echo has already routed the request.
type RouteTable struct {
	byRoute  map[routeKey]*routers.Route // {GET, /v3/ai-agents/…/:slug}
	allow    map[string]string           // echo path template → its Allow header ("GET, HEAD, POST")
	fallback routers.Router              // kin-openapi's own matching, for requests echo did not route
}

// routeKey is a method and an echo path template; a struct, so a lookup builds no string.
type routeKey struct{ method, path string }

func (k routeKey) String() string { return k.method + " " + k.path }

var specParam = regexp.MustCompile(`\{([^}]+)\}`)

// echoPath turns a spec path (/x/{slug}) into echo's template under base (/v3/x/:slug).
func echoPath(base, specPath string) string {
	return base + specParam.ReplaceAllString(specPath, ":$1")
}

func NewRouteTable(spec *openapi3.T, base string) (*RouteTable, error) {
	fallback, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, fmt.Errorf("route embedded spec: %w", err)
	}
	t := &RouteTable{byRoute: map[routeKey]*routers.Route{}, allow: map[string]string{}, fallback: fallback}
	var server *openapi3.Server
	if len(spec.Servers) > 0 {
		server = spec.Servers[0]
	}
	for path, item := range spec.Paths.Map() {
		ep := echoPath(base, path)
		var methods []string
		for method, op := range item.Operations() {
			t.byRoute[routeKey{method, ep}] = &routers.Route{Spec: spec, Server: server, Path: path, PathItem: item, Method: method, Operation: op}
			methods = append(methods, method)
			if method == http.MethodGet {
				methods = append(methods, http.MethodHead) // see httpx.HeadAsGet
			}
		}
		slices.Sort(methods)
		t.allow[ep] = strings.Join(methods, ", ")
	}
	return t, nil
}

// check fails unless every operation of the spec has an echo route and every echo route
// under base has an operation: the spec and the server cannot drift apart.
func (t *RouteTable) Check(e *echo.Echo, base string) error {
	served := map[routeKey]bool{}
	for _, r := range e.Routes() {
		if !strings.HasPrefix(r.Path, base+"/") || strings.HasSuffix(r.Path, "*") || r.Method == echo.RouteNotFound {
			continue
		}
		key := routeKey{r.Method, r.Path}
		served[key] = true
		if t.byRoute[key] == nil {
			return fmt.Errorf("route %s is not an operation of openapi.yaml", key)
		}
	}
	for key := range t.byRoute {
		if !served[key] {
			return fmt.Errorf("operation %s of openapi.yaml is not served", key)
		}
	}
	return nil
}

// echoRouter is a routers.Router for one request, answering from echo's match. Validate
// takes one from a pool, with the map of path parameters it hands the validator, and puts
// it back after a request that passed (an error may keep the map).
type echoRouter struct {
	t      *RouteTable
	c      echo.Context
	params map[string]string
}

var routerPool = sync.Pool{New: func() any { return &echoRouter{params: make(map[string]string, 4)} }}

func (r *echoRouter) FindRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	route := r.t.byRoute[routeKey{req.Method, r.c.Path()}]
	if route == nil {
		if allow, ok := r.t.allow[r.c.Path()]; ok {
			r.c.Response().Header().Set(echo.HeaderAllow, allow)
			return nil, nil, routers.ErrMethodNotAllowed
		}
		// echo matched no operation (its catch-all): tell 404 from 405 the spec's way.
		route, params, err := r.t.fallback.FindRoute(req)
		if errors.Is(err, routers.ErrMethodNotAllowed) {
			r.setAllow(req)
		}
		return route, params, err
	}
	names, values := r.c.ParamNames(), r.c.ParamValues()
	for i, n := range names {
		if i < len(values) {
			r.params[n] = values[i]
		}
	}
	return route, r.params, nil
}

// setAllow answers a 405 of a path echo did not route (its catch-all took the unknown
// method) with the methods the spec has for it, asking the fallback router for each.
func (r *echoRouter) setAllow(req *http.Request) {
	var methods []string
	for _, m := range []string{http.MethodDelete, http.MethodGet, http.MethodPatch, http.MethodPost, http.MethodPut} {
		probe := req.Clone(req.Context())
		probe.Method = m
		if _, _, err := r.t.fallback.FindRoute(probe); err == nil {
			methods = append(methods, m)
			if m == http.MethodGet {
				methods = append(methods, http.MethodHead)
			}
		}
	}
	slices.Sort(methods)
	r.c.Response().Header().Set(echo.HeaderAllow, strings.Join(methods, ", "))
}

// validate is oapi-codegen's echo request validator run with echoRouter, between checks of
// what the spec cannot say: a query parameter given once, strings without control
// characters (see CheckStrings).
func Validate(t *RouteTable, opts *oapimw.Options) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := checkQuery(t, c); err != nil {
				return err
			}
			r := routerPool.Get().(*echoRouter)
			r.t, r.c = t, c
			if err := oapimw.ValidateRequestFromContext(c, r, opts); err != nil {
				return opts.ErrorHandler(c, err)
			}
			clear(r.params)
			r.t, r.c = nil, nil
			routerPool.Put(r)
			if vb, ok := c.Request().Body.(interface{ ValidatedValue() any }); ok {
				if ds := CheckStrings(vb.ValidatedValue()); len(ds) > 0 {
					return httpx.ValidationError(ds)
				}
			}
			return next(c)
		}
	}
}

// checkQuery refuses a query parameter of the operation given more than once (every one is
// a single value; the binder would say "not valid JSON") and query values with control
// characters or bytes that are not UTF-8.
func checkQuery(t *RouteTable, c echo.Context) error {
	route := t.byRoute[routeKey{c.Request().Method, c.Path()}]
	if route == nil || c.Request().URL.RawQuery == "" {
		return nil
	}
	q := c.QueryParams()
	var details []httpx.Detail
	for _, p := range route.Operation.Parameters {
		if p.Value == nil || p.Value.In != openapi3.ParameterInQuery {
			continue
		}
		vs := q[p.Value.Name]
		field := "query." + p.Value.Name
		switch {
		case len(vs) > 1:
			details = append(details, httpx.Detail{Field: field, Message: "must be given once"})
		case len(vs) == 1:
			if msg := badString(vs[0], false); msg != "" {
				details = append(details, httpx.Detail{Field: field, Message: msg})
			}
		}
	}
	if len(details) > 0 {
		slices.SortFunc(details, func(a, b httpx.Detail) int { return strings.Compare(a.Field, b.Field) })
		return httpx.ValidationError(details)
	}
	return nil
}

// ValidatorOptions loads the embedded spec, served under base, and the options of the request validator.
func ValidatorOptions(base string) (*openapi3.T, *oapimw.Options, error) {
	registerStrictJSON.Do(func() { openapi3filter.RegisterBodyDecoder(echo.MIMEApplicationJSON, strictJSON) })
	spec, err := gen.GetSwagger()
	if err != nil {
		return nil, nil, fmt.Errorf("load embedded spec: %w", err)
	}
	spec.Servers = openapi3.Servers{{URL: base}}
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

// RequireJSON answers 415 for a body that is not JSON, before the validator reads it. An
// empty body without a Content-Type is left to the validator ("a JSON body is required").
func RequireJSON(next echo.HandlerFunc) echo.HandlerFunc {
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
			return httpx.NewError(httpx.CodeUnsupportedMediaType, "Content-Type must be application/json.")
		}
		return next(c)
	}
}
