package rest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

const (
	idempotencyTTL   = 24 * time.Hour
	idempotencyStale = time.Minute // a holder silent this long is taken to have died
	idempotencyWait  = 10 * time.Second
)

// idempotencyFullRetry is the Retry-After of a create refused because its app holds
// maxPerApp keys: the purge (every 10 minutes in serve) frees the keys older than a day.
const idempotencyFullRetry = 600

// Idempotent replays the stored response of a create retried with the same
// Idempotency-Key, and makes concurrent requests with one key write once. It runs after
// validation, so only requests that would execute hold a key. An app holds at most
// maxPerApp keys (0: no limit); past it, a new key is 429 and the request does not run.
func Idempotent(st store.IdempotencyStore, creates map[string]bool, maxPerApp int) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			key := c.Request().Header.Get("Idempotency-Key")
			if key == "" || c.Request().Method != http.MethodPost || !creates[c.Path()] {
				return next(c)
			}
			ctx := c.Request().Context()
			app := httpx.AppKey(c)
			hash, err := requestHash(c)
			if err != nil {
				return err
			}
			if maxPerApp > 0 {
				if err := roomFor(c, st, app, key, maxPerApp); err != nil {
					return err
				}
			}
			now := time.Now()
			rec, started, err := st.BeginIdempotent(ctx, app, key, hash, now.UnixMilli(), now.Add(-idempotencyStale).UnixMilli(), now.Add(-idempotencyTTL).UnixMilli())
			if err != nil {
				return StoreError(err, httpx.CodeInternal, "")
			}
			if started {
				return record(c, st, app, key, next)
			}
			if rec.RequestHash != hash {
				return httpx.NewError(httpx.CodeIdempotencyKeyReused, "This Idempotency-Key was used with another request body.")
			}
			for deadline := time.Now().Add(idempotencyWait); rec.Status == 0; {
				if time.Now().After(deadline) {
					return httpx.NewError(httpx.CodeIdempotencyInProgress, "A request with this Idempotency-Key is still running; retry later.")
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(20 * time.Millisecond):
				}
				if rec, err = st.GetIdempotent(ctx, app, key); errors.Is(err, store.ErrNotFound) {
					return next(c) // the first request failed and let go of the key: run this one
				} else if err != nil {
					return StoreError(err, httpx.CodeInternal, "")
				}
			}
			h := c.Response().Header()
			h.Set("Content-Type", echo.MIMEApplicationJSON)
			h.Set("Idempotency-Replayed", "true")
			if rec.ETag != "" {
				h.Set("ETag", rec.ETag)
			}
			return c.Blob(rec.Status, echo.MIMEApplicationJSON, []byte(rec.Body))
		}
	}
}

// roomFor refuses a new key when the app already holds maxPerApp (a key it holds is fine:
// its replay stores nothing new). Concurrent creates can overshoot by how many run at once.
func roomFor(c echo.Context, st store.IdempotencyStore, app, key string, maxPerApp int) error {
	ctx := c.Request().Context()
	n, err := st.CountIdempotent(ctx, app, maxPerApp)
	if err != nil {
		return StoreError(err, httpx.CodeInternal, "")
	}
	if n < maxPerApp {
		return nil
	}
	if _, err := st.GetIdempotent(ctx, app, key); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return StoreError(err, httpx.CodeInternal, "")
	}
	return &httpx.Error{Status: http.StatusTooManyRequests, Code: httpx.CodeRateLimited, RetryAfter: idempotencyFullRetry,
		Message: fmt.Sprintf("This app holds %d Idempotency-Keys of the last day, the most it may; retry later, or without a key.", maxPerApp)}
}

// requestHash identifies a request by its route and the body the validator decoded, so
// that the same JSON with other spacing or key order is the same request.
func requestHash(c echo.Context) (string, error) {
	h := sha256.New()
	h.Write([]byte(c.Request().Method + " " + c.Path() + "\n"))
	if vb, ok := c.Request().Body.(interface{ ValidatedValue() any }); ok {
		b, err := json.Marshal(vb.ValidatedValue())
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// record runs the request that holds the key and stores its response; a 5xx lets go of
// the key instead, so a retry runs again.
func record(c echo.Context, st store.IdempotencyStore, app, key string, next echo.HandlerFunc) error {
	rw := &capture{ResponseWriter: c.Response().Writer}
	c.Response().Writer = rw
	if err := next(c); err != nil {
		c.Error(err)
	}
	ctx := c.Request().Context()
	if status := c.Response().Status; status < 500 {
		return st.FinishIdempotent(ctx, app, key, status, rw.body.String(), c.Response().Header().Get("ETag"))
	}
	return st.AbandonIdempotent(ctx, app, key)
}

type capture struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (w *capture) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}
