package main

import (
	"encoding/json"
	"flag"
	"net/http"
	"os"

	"github.com/labstack/echo/v4"
)

// runBaseline serves the same JSON bytes as agentmcp for the same routes, from memory, with
// no auth, validation, logging or storage: the ceiling the ratios are measured against.
func runBaseline(args []string) error {
	fs := flag.NewFlagSet("baseline", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	path := fs.String("fixture", "", "fixture file written by the benchmark")
	fs.Parse(args)
	b, err := os.ReadFile(*path)
	if err != nil {
		return err
	}
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/v3/ai-agents/agent-builder/mcp-servers/:slug", func(c echo.Context) error {
		v, ok := f.Servers[c.Param("slug")]
		if !ok {
			return c.JSONBlob(http.StatusNotFound, []byte(`{"statusCode":404}`))
		}
		return c.JSONBlob(http.StatusOK, v)
	})
	e.GET("/v3/ai-agents/agent-builder/mcp-servers", func(c echo.Context) error { return c.JSONBlob(http.StatusOK, f.List10) })
	return e.Start(*addr)
}
