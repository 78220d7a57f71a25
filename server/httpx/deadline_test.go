package httpx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// TestDeadline: a request's context ends at the deadline the middleware gives it, and when
// the request ends; a skipped route keeps its own.
func TestDeadline(t *testing.T) {
	e := echo.New()
	var got context.Context
	h := Deadline(time.Hour, func(c echo.Context) bool { return c.Request().URL.Path == "/skip" })(func(c echo.Context) error {
		got = c.Request().Context()
		return nil
	})
	for _, path := range []string{"/", "/skip"} {
		c := e.NewContext(httptest.NewRequest(http.MethodGet, path, nil), httptest.NewRecorder())
		if err := h(c); err != nil {
			t.Fatal(err)
		}
		at, ok := got.Deadline()
		if path == "/skip" {
			if ok || got.Err() != nil {
				t.Fatalf("skipped route: deadline %v %v, err %v", at, ok, got.Err())
			}
			continue
		}
		if !ok || time.Until(at) < 59*time.Minute {
			t.Fatalf("Deadline() = %v, %v", at, ok)
		}
		if got.Err() == nil {
			t.Fatal("the request's context outlived the request")
		}
	}
}
