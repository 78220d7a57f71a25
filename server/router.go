package server

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
	oapimw "github.com/oapi-codegen/echo-middleware"
)

// routeTable maps echo's matched route (method and path template) to the spec's operation,
// so request validation does not match the path a second time with regular expressions:
// echo has already routed the request.
type routeTable struct {
	byRoute  map[string]*routers.Route // "GET /v3/ai-agents/…/:slug"
	paths    map[string]bool           // echo path templates that have some operation
	fallback routers.Router            // kin-openapi's own matching, for requests echo did not route
}

var specParam = regexp.MustCompile(`\{([^}]+)\}`)

// echoPath turns a spec path (/x/{slug}) into echo's template under base (/v3/x/:slug).
func echoPath(base, specPath string) string {
	return base + specParam.ReplaceAllString(specPath, ":$1")
}

func newRouteTable(spec *openapi3.T, base string) (*routeTable, error) {
	fallback, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, fmt.Errorf("route embedded spec: %w", err)
	}
	t := &routeTable{byRoute: map[string]*routers.Route{}, paths: map[string]bool{}, fallback: fallback}
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
func (t *routeTable) check(e *echo.Echo, base string) error {
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
	t *routeTable
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
func validate(t *routeTable, opts *oapimw.Options) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := oapimw.ValidateRequestFromContext(c, echoRouter{t: t, c: c}, opts); err != nil {
				return opts.ErrorHandler(c, err)
			}
			return next(c)
		}
	}
}
