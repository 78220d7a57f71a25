package rest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
	oapimw "github.com/oapi-codegen/echo-middleware"

	"github.com/agentmcp/agentmcp/server/httpx"
)

// BenchmarkValidateRouter compares the request validator answering FindRoute from echo's
// match (RouteTable, "table") with kin-openapi's own gorillamux router matching the path
// again ("gorillamux"), on a GET with a path parameter and a PATCH with a body, through the
// same echo group middleware. Sub-benchmarks alternate under -count, an A/B in one run.
func BenchmarkValidateRouter(b *testing.B) {
	const base = "/v3"
	spec, opts, err := ValidatorOptions(base)
	if err != nil {
		b.Fatal(err)
	}
	table, err := NewRouteTable(spec, base)
	if err != nil {
		b.Fatal(err)
	}
	kin, err := gorillamux.NewRouter(spec)
	if err != nil {
		b.Fatal(err)
	}
	ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	build := func(mw echo.MiddlewareFunc) *echo.Echo {
		e := echo.New()
		g := httpx.NewGroup(e, base, httpx.ReadBody, mw)
		g.GET("/ai-agents/agent-builder/mcp-servers/:slug", ok)
		g.PATCH("/ai-agents/agent-builder/mcp-servers/:slug", ok)
		return e
	}
	variants := []struct {
		name string
		e    *echo.Echo
	}{
		{"table", build(Validate(table, opts))},
		// Validate with kin-openapi's router in place of echoRouter, and nothing else changed.
		{"gorillamux", build(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				if err := checkQuery(table, c); err != nil {
					return err
				}
				if err := oapimw.ValidateRequestFromContext(c, kin, opts); err != nil {
					return opts.ErrorHandler(c, err)
				}
				if vb, ok := c.Request().Body.(interface{ ValidatedValue() any }); ok {
					if ds := CheckStrings(vb.ValidatedValue()); len(ds) > 0 {
						return httpx.ValidationError(ds)
					}
				}
				return next(c)
			}
		})},
	}
	reqs := []struct {
		name, method, path, body string
	}{
		{"get", http.MethodGet, base + "/ai-agents/agent-builder/mcp-servers/s", ""},
		{"patch", http.MethodPatch, base + "/ai-agents/agent-builder/mcp-servers/s", `{"name":"New name","description":"d"}`},
	}
	for _, r := range reqs {
		for _, v := range variants {
			b.Run(r.name+"/"+v.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest(r.method, r.path, nil)
					if r.body != "" {
						req = httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
						req.Header.Set("Content-Type", "application/json")
					}
					w := httptest.NewRecorder()
					v.e.ServeHTTP(w, req)
					if w.Code != http.StatusNoContent {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		}
	}
}
