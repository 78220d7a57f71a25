package httpx

import (
	"context"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/agentmcp/agentmcp/internal/logx"
	"github.com/agentmcp/agentmcp/server/auth"
)

// Deadline gives every request a deadline; the store's queries end with it. Routes that
// skip says are left alone (the MCP gateway bounds its own calls and streams).
func Deadline(d time.Duration, skip func(echo.Context) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip != nil && skip(c) {
				return next(c)
			}
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// AccessLog writes one line per request. It renders errors itself (c.Error) so the line has
// the final status. Never logs keys or bodies.
func AccessLog(log *slog.Logger, m *Metrics) echo.MiddlewareFunc {
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
			if p, ok := auth.FromContext(c.Request().Context()); ok {
				app = p.AppID
			}
			r := logx.Request{ID: c.Response().Header().Get(echo.HeaderXRequestID), Method: c.Request().Method,
				Route: c.Path(), Status: c.Response().Status, Duration: time.Since(start), AppID: app}
			logx.Log(c.Request().Context(), log, &r)
			return nil
		}
	}
}
