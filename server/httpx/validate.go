package httpx

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
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
	oapimw "github.com/oapi-codegen/echo-middleware"

	"github.com/agentmcp/agentmcp/gen"
)

// RouteTable maps echo's matched route (method and path template) to the spec's operation,
// so request validation does not match the path a second time with regular expressions:
// echo has already routed the request.
type RouteTable struct {
	byRoute  map[string]*routers.Route // "GET /v3/ai-agents/…/:slug"
	paths    map[string]bool           // echo path templates that have some operation
	fallback routers.Router            // kin-openapi's own matching, for requests echo did not route
}

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
	t := &RouteTable{byRoute: map[string]*routers.Route{}, paths: map[string]bool{}, fallback: fallback}
	var server *openapi3.Server
	if len(spec.Servers) > 0 {
		server = spec.Servers[0]
	}
	for path, item := range spec.Paths.Map() {
		ep := echoPath(base, path)
		t.paths[ep] = true
		for method, op := range item.Operations() {
			t.byRoute[method+" "+ep] = &routers.Route{Spec: spec, Server: server, Path: path, PathItem: item, Method: method, Operation: op}
		}
	}
	return t, nil
}

// check fails unless every operation of the spec has an echo route and every echo route
// under base has an operation: the spec and the server cannot drift apart.
func (t *RouteTable) Check(e *echo.Echo, base string) error {
	served := map[string]bool{}
	for _, r := range e.Routes() {
		if !strings.HasPrefix(r.Path, base+"/") || strings.HasSuffix(r.Path, "*") || r.Method == echo.RouteNotFound {
			continue
		}
		key := r.Method + " " + r.Path
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

// echoRouter is a routers.Router for one request, answering from echo's match.
type echoRouter struct {
	t *RouteTable
	c echo.Context
}

func (r echoRouter) FindRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	route := r.t.byRoute[req.Method+" "+r.c.Path()]
	if route == nil {
		if r.t.paths[r.c.Path()] {
			return nil, nil, routers.ErrMethodNotAllowed
		}
		// echo matched no operation (its catch-all): tell 404 from 405 the spec's way.
		return r.t.fallback.FindRoute(req)
	}
	names, values := r.c.ParamNames(), r.c.ParamValues()
	params := make(map[string]string, len(names))
	for i, n := range names {
		if i < len(values) {
			params[n] = values[i]
		}
	}
	return route, params, nil
}

// validate is oapi-codegen's echo request validator run with echoRouter.
func Validate(t *RouteTable, opts *oapimw.Options) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := oapimw.ValidateRequestFromContext(c, echoRouter{t: t, c: c}, opts); err != nil {
				return opts.ErrorHandler(c, err)
			}
			return next(c)
		}
	}
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
			return NewError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "Content-Type must be application/json.")
		}
		return next(c)
	}
}
