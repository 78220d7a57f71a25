package httpx

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/agentmcp/agentmcp/internal/logx"
	"github.com/agentmcp/agentmcp/store"
)

// Deadline gives every request a deadline; the store's queries end with it. Routes that
// skip says are left alone (the MCP gateway bounds its own calls and streams).
func Deadline(d time.Duration, skip func(echo.Context) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip != nil && skip(c) {
				return next(c)
			}
			ctx := &lazyDeadline{Context: c.Request().Context(), deadline: time.Now().Add(d)}
			defer ctx.end()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// lazyDeadline is context.WithDeadline whose timer starts only when something waits on it
// (Done or Err, as a database driver does): a cached read never does, and the timer was a
// sixth of a cached GET's handler time (BenchmarkGetServer).
type lazyDeadline struct {
	context.Context // the parent
	deadline        time.Time

	auth authValues // what Authenticate added (auth.set: something), asked before the rest

	started atomic.Bool // timer is set and never changes again
	mu      sync.Mutex
	timer   context.Context
	cancel  context.CancelFunc
	ended   bool
}

func (d *lazyDeadline) Deadline() (time.Time, bool) {
	if t, ok := d.Context.Deadline(); ok && t.Before(d.deadline) {
		return t, true
	}
	return d.deadline, true
}

func (d *lazyDeadline) start() context.Context {
	if d.started.Load() {
		return d.timer
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer == nil {
		d.timer, d.cancel = context.WithDeadline(d.Context, d.deadline)
		if d.ended {
			d.cancel()
		}
		d.started.Store(true)
	}
	return d.timer
}

func (d *lazyDeadline) Done() <-chan struct{} { return d.start().Done() }
func (d *lazyDeadline) Err() error            { return d.start().Err() }

// Value asks the timer once it has started: context's own children find the cancelCtx
// behind Done through Value, and it must be the one whose channel Done returned.
func (d *lazyDeadline) Value(k any) any {
	if v := d.auth.value(k); v != nil {
		return v
	}
	if d.started.Load() {
		return d.timer.Value(k)
	}
	return d.Context.Value(k)
}

// authValues are what Authenticate puts on a request's context: its caller and the actor
// its writes are audited under. Held in a field of the request's lazyDeadline (no other
// goroutine has it yet: the middlewares before the handler run on the request's) rather
// than in two context.WithValue nodes and their boxed values: four allocations per request.
type authValues struct {
	set       bool
	principal Principal
	actor     store.Actor
}

func (v *authValues) value(k any) any {
	if !v.set {
		return nil
	}
	switch k.(type) {
	case principalKey:
		return &v.principal
	case store.ActorKey:
		return &v.actor
	}
	return nil
}

// authContext carries authValues where the request has no lazyDeadline.
type authContext struct {
	context.Context
	auth authValues
}

func (c *authContext) Value(k any) any {
	if v := c.auth.value(k); v != nil {
		return v
	}
	return c.Context.Value(k)
}

// setAuth puts p and a on the request's context. Only before the handler runs: d.auth is a
// plain field, read by whoever asks the context for a value.
func setAuth(c echo.Context, p Principal, a store.Actor) {
	v := authValues{set: true, principal: p, actor: a}
	if d, ok := c.Request().Context().(*lazyDeadline); ok {
		d.auth = v
		return
	}
	c.SetRequest(c.Request().WithContext(&authContext{Context: c.Request().Context(), auth: v}))
}

// end is the request's cancel: a timer that starts after it starts cancelled.
func (d *lazyDeadline) end() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ended = true
	if d.cancel != nil {
		d.cancel()
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
			if p, ok := PrincipalFrom(c.Request().Context()); ok {
				app = p.AppID
			}
			r := logx.Request{ID: c.Response().Header().Get(echo.HeaderXRequestID), Method: c.Request().Method,
				Route: c.Path(), Status: c.Response().Status, Duration: time.Since(start), AppID: app}
			logx.Log(c.Request().Context(), log, &r)
			return nil
		}
	}
}
