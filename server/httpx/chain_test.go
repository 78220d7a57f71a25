package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/agentmcp/agentmcp/server/httpx"
)

// The chains are built once however many requests run them, and run as echo's would: Use's
// outermost, then the group's, then the route's, in the order given, for routed requests
// and for the 404s of paths under the group and outside it.
func TestChainsBuiltOnce(t *testing.T) {
	builds := map[string]int{}
	var trail []string
	mw := func(name string) echo.MiddlewareFunc {
		return func(next echo.HandlerFunc) echo.HandlerFunc {
			builds[name]++
			return func(c echo.Context) error {
				trail = append(trail, name)
				return next(c)
			}
		}
	}
	e := echo.New()
	e.Use(httpx.Routed(mw("use1"), mw("use2")))
	g := httpx.NewGroup(e, "/v3", mw("group1"), mw("group2"))
	g.GET("/things/:id", func(c echo.Context) error { return c.String(http.StatusOK, "thing "+c.Param("id")) }, mw("route"))
	g.Any("/any", func(c echo.Context) error { return c.String(http.StatusOK, c.Request().Method) })
	e.GET("/plain", func(c echo.Context) error { return c.String(http.StatusOK, "plain") })

	for _, tc := range []struct {
		method, path string
		status       int
		body, trail  string
	}{
		{"GET", "/v3/things/7", 200, "thing 7", "use1 use2 group1 group2 route"},
		{"GET", "/v3/things/8", 200, "thing 8", "use1 use2 group1 group2 route"},
		{"DELETE", "/v3/any", 200, "DELETE", "use1 use2 group1 group2"},
		{"GET", "/v3/nothing/here", 404, "", "use1 use2 group1 group2"},
		{"GET", "/v3", 404, "", "use1 use2 group1 group2"},
		{"GET", "/plain", 200, "plain", "use1 use2"},
		{"GET", "/elsewhere", 404, "", "use1 use2"},
	} {
		trail = nil
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status || (tc.body != "" && rec.Body.String() != tc.body) {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, rec.Code, rec.Body, tc.status, tc.body)
		}
		if got := strings.Join(trail, " "); got != tc.trail {
			t.Errorf("%s %s ran %q, want %q", tc.method, tc.path, got, tc.trail)
		}
	}
	// use: 1; group: its 404 chain, /things/:id and /any's chain; route: 1.
	for name, want := range map[string]int{"use1": 1, "use2": 1, "group1": 2 + 1, "group2": 2 + 1, "route": 1} {
		if builds[name] != want {
			t.Errorf("%s built %d times, want %d", name, builds[name], want)
		}
	}
}

// HEAD runs a GET route as a GET; a skipped path stays HEAD (and has no HEAD route).
func TestHeadAsGet(t *testing.T) {
	e := echo.New()
	e.GET("/x", func(c echo.Context) error {
		c.Response().Header().Set("X-Method", c.Request().Method)
		return c.String(http.StatusOK, "body")
	})
	e.GET("/stream", func(c echo.Context) error { return c.String(http.StatusOK, "stream") })
	h := httpx.HeadAsGet(func(r *http.Request) bool { return r.URL.Path == "/stream" }, e)
	srv := httptest.NewServer(h)
	defer srv.Close()
	for path, want := range map[string]int{"/x": http.StatusOK, "/stream": http.StatusMethodNotAllowed} {
		resp, err := http.Head(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("HEAD %s: %d, want %d", path, resp.StatusCode, want)
		}
		if path == "/x" && resp.Header.Get("X-Method") != "GET" {
			t.Errorf("HEAD /x ran as %q, want GET", resp.Header.Get("X-Method"))
		}
	}
}
