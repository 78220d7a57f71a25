package httpx

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
)

// Echo v4 builds a route's middleware chain again on every request (Use's, a group's and
// the route's own: a closure per middleware, with Pre one more): a fifth of a cached GET's
// allocations. The chains here are built once, at start-up.

// Compose returns h behind mw, mw[0] outermost, as echo would run them.
func Compose(h echo.HandlerFunc, mw ...echo.MiddlewareFunc) echo.HandlerFunc {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// Routed is mw as echo's global middleware, built once: the chain ends in the handler
// echo's router chose for the request. It must be the only middleware given to Use: it
// ignores the handler echo hands it, which is that same route handler only when Routed
// is innermost.
func Routed(mw ...echo.MiddlewareFunc) echo.MiddlewareFunc {
	chain := Compose(func(c echo.Context) error { return c.Handler()(c) }, mw...)
	return func(echo.HandlerFunc) echo.HandlerFunc { return chain }
}

// Group is echo's Group with its middleware composed into each route at registration. As
// echo's does, it routes every other path under its prefix, any method, through the
// middleware to a 404, so that they answer before the router does (a 401 before a 404).
type Group struct {
	g  *echo.Group
	mw []echo.MiddlewareFunc
}

func NewGroup(e *echo.Echo, prefix string, mw ...echo.MiddlewareFunc) *Group {
	g := &Group{g: e.Group(prefix), mw: mw}
	if len(mw) > 0 {
		nf := Compose(echo.NotFoundHandler, mw...)
		g.g.RouteNotFound("", nf)
		g.g.RouteNotFound("/*", nf)
	}
	return g
}

// compose is h behind the group's middleware, then the route's own.
func (g *Group) compose(h echo.HandlerFunc, mw []echo.MiddlewareFunc) echo.HandlerFunc {
	return Compose(h, slices.Concat(g.mw, mw)...)
}

func (g *Group) Add(method, path string, h echo.HandlerFunc, mw ...echo.MiddlewareFunc) *echo.Route {
	return g.g.Add(method, path, g.compose(h, mw))
}

// Any adds path for every method echo knows, as echo's Any does.
func (g *Group) Any(path string, h echo.HandlerFunc, mw ...echo.MiddlewareFunc) []*echo.Route {
	return g.g.Any(path, g.compose(h, mw))
}

func (g *Group) CONNECT(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return g.Add(http.MethodConnect, path, h, m...)
}
func (g *Group) DELETE(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return g.Add(http.MethodDelete, path, h, m...)
}
func (g *Group) GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return g.Add(http.MethodGet, path, h, m...)
}
func (g *Group) HEAD(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return g.Add(http.MethodHead, path, h, m...)
}
func (g *Group) OPTIONS(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return g.Add(http.MethodOptions, path, h, m...)
}
func (g *Group) PATCH(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return g.Add(http.MethodPatch, path, h, m...)
}
func (g *Group) POST(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return g.Add(http.MethodPost, path, h, m...)
}
func (g *Group) PUT(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return g.Add(http.MethodPut, path, h, m...)
}
func (g *Group) TRACE(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return g.Add(http.MethodTrace, path, h, m...)
}
