package registry

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/agentmcp/agentmcp/server/httpx"
)

// problemBody is an error in the official registry's shape: RFC 9457 problem details as its
// server (huma) writes them, plus "error", the one field its published API spec names.
type problemBody struct {
	Title  string        `json:"title"`
	Status int           `json:"status"`
	Detail string        `json:"detail"`
	Errors []errorDetail `json:"errors,omitempty"`
	Err    string        `json:"error"`
}

type errorDetail struct {
	Message  string `json:"message"`
	Location string `json:"location,omitempty"` // e.g. query.limit
	Value    any    `json:"value,omitempty"`
}

// problemError is a problemBody a handler returns.
type problemError struct{ p problemBody }

func (e *problemError) Error() string { return e.p.Detail }

func problem(status int, detail string, errs ...errorDetail) error {
	return &problemError{problemBody{Title: http.StatusText(status), Status: status, Detail: detail, Errors: errs, Err: detail}}
}

// problems renders every error of the routes below it (their own, and those of the
// middleware after it, such as a rate limit) as a problemBody; 5xx are logged, never detailed.
func (v *view) problems(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil || c.Response().Committed {
			return err
		}
		var pe *problemError
		if !errors.As(err, &pe) {
			e := httpx.ToError(err)
			if e.Status >= 500 {
				v.log.LogAttrs(c.Request().Context(), slog.LevelError, "registry request failed",
					slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
					slog.String("route", c.Path()), slog.Int("status", e.Status), slog.String("error", err.Error()))
			}
			pe = problem(e.Status, e.Message).(*problemError)
		}
		b, merr := json.Marshal(pe.p)
		if merr != nil {
			return merr
		}
		if c.Request().Method == http.MethodHead {
			return c.NoContent(pe.p.Status)
		}
		return c.Blob(pe.p.Status, "application/problem+json", b)
	}
}

// cors lets any page read these routes (editors' webviews do): they are public and read
// with no credential. Nothing else of agentmcp sends these headers.
func cors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Access-Control-Allow-Origin", "*")
		// Always read afresh: a switched-off view or a deleted server must not linger.
		h.Set("Cache-Control", "no-store")
		return next(c)
	}
}

// readOnly serves GET and HEAD with h, answers CORS preflights, and refuses the rest.
func readOnly(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead:
			return h(c)
		case http.MethodOptions:
			hd := c.Response().Header()
			hd.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
			hd.Set("Access-Control-Allow-Headers", "*")
			hd.Set("Access-Control-Max-Age", "86400")
			return c.NoContent(http.StatusNoContent)
		}
		// The registry API answers 501 to the writes a registry does not support.
		c.Response().Header().Set("Allow", "GET, HEAD, OPTIONS")
		return problem(http.StatusNotImplemented, "This registry is read-only.")
	}
}
