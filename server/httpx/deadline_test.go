package httpx

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/agentmcp/agentmcp/internal/testkit/race"
	"github.com/agentmcp/agentmcp/store"
)

type ctxKey struct{}

// TestLazyDeadline: what context.WithDeadline does, with the timer started only by Done or Err.
func TestLazyDeadline(t *testing.T) {
	parent := context.WithValue(context.Background(), ctxKey{}, "v")
	newCtx := func(d time.Duration) *lazyDeadline {
		return &lazyDeadline{Context: parent, deadline: time.Now().Add(d)}
	}

	d := newCtx(time.Hour)
	if at, ok := d.Deadline(); !ok || time.Until(at) < 59*time.Minute {
		t.Fatalf("Deadline() = %v, %v", at, ok)
	}
	if d.Value(ctxKey{}) != "v" || d.started.Load() {
		t.Fatal("Deadline and Value started the timer, or Value lost the parent's")
	}
	if d.Err() != nil || !d.started.Load() || d.Value(ctxKey{}) != "v" {
		t.Fatalf("Err() = %v before the deadline, or did not start the timer, or lost the value", d.Err())
	}
	d.end()
	if <-d.Done(); !errors.Is(d.Err(), context.Canceled) {
		t.Fatalf("after end: %v", d.Err())
	}

	// Ended before anything waited: a later Done is already closed.
	d = newCtx(time.Hour)
	d.end()
	if <-d.Done(); !errors.Is(d.Err(), context.Canceled) {
		t.Fatalf("ended unstarted: %v", d.Err())
	}

	// The deadline passes: Done closes with DeadlineExceeded, for a child as well.
	d = newCtx(20 * time.Millisecond)
	child, cancel := context.WithCancel(d)
	defer cancel()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the child of a passed deadline was not cancelled")
	}
	if !errors.Is(d.Err(), context.DeadlineExceeded) || !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err() = %v, child %v", d.Err(), child.Err())
	}
	d.end()

	// Past the deadline before anything asked: Err says so at once.
	d = newCtx(-time.Millisecond)
	if !errors.Is(d.Err(), context.DeadlineExceeded) {
		t.Fatalf("past deadline: Err() = %v", d.Err())
	}
	d.end()

	// The parent's cancel and earlier deadline reach it.
	p, cancelP := context.WithTimeout(parent, time.Minute)
	d = &lazyDeadline{Context: p, deadline: time.Now().Add(time.Hour)}
	if at, _ := d.Deadline(); time.Until(at) > 2*time.Minute {
		t.Fatalf("Deadline() = %v, not the parent's earlier one", at)
	}
	done := d.Done()
	cancelP()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the parent's cancel did not reach it")
	}
	if !errors.Is(d.Err(), context.Canceled) {
		t.Fatalf("after the parent's cancel: %v", d.Err())
	}
	d.end()
}

// TestLazyDeadlineConcurrent: Value, Err and Done from many goroutines start one timer (go test -race).
func TestLazyDeadlineConcurrent(t *testing.T) {
	d := &lazyDeadline{Context: context.Background(), deadline: time.Now().Add(time.Hour)}
	ch := make(chan (<-chan struct{}), 8)
	for range 8 {
		go func() { d.Value(ctxKey{}); _ = d.Err(); ch <- d.Done() }()
	}
	first := <-ch
	for range 7 {
		if <-ch != first {
			t.Fatal("two Done channels: two timers")
		}
	}
	d.end()
	<-first
}

// What Authenticate adds goes into the request's lazyDeadline, not a copy of the request,
// and is found from it and its children, before and after the timer starts, beside the
// parent's values; on any other context the request gets a new one, as before.
func TestSetAuth(t *testing.T) {
	e := echo.New()
	parent := context.WithValue(context.Background(), ctxKey{}, "parent")
	p, a := Principal{AppID: "app", KeyID: "key_1"}, store.Actor{KeyID: "key_1", RequestID: "req-1"}
	check := func(ctx context.Context) {
		t.Helper()
		if got, ok := PrincipalFrom(ctx); !ok || got != p {
			t.Fatalf("principal %+v %v, want %+v", got, ok, p)
		}
		if got := store.ActorFrom(ctx); got != a {
			t.Fatalf("actor %+v, want %+v", got, a)
		}
		if ctx.Value(ctxKey{}) != "parent" {
			t.Fatalf("parent's value %v", ctx.Value(ctxKey{}))
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	d := &lazyDeadline{Context: parent, deadline: time.Now().Add(time.Hour)}
	if _, ok := PrincipalFrom(d); ok {
		t.Fatal("a principal before Authenticate")
	}
	r = r.WithContext(d)
	c := e.NewContext(r, httptest.NewRecorder())
	setAuth(c, p, a)
	if c.Request() != r {
		t.Fatal("the request was copied")
	}
	child, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	check(d)
	check(child)
	if d.Err() != nil || !d.started.Load() { // Err starts the timer
		t.Fatal("timer not started, or done already")
	}
	check(d)
	check(child)
	if !race.Enabled { // the race detector allocates
		if allocs := testing.AllocsPerRun(100, func() { setAuth(c, p, a) }); allocs != 0 {
			t.Fatalf("setAuth on a lazyDeadline: %v allocations, want 0", allocs)
		}
	}

	plain := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(parent)
	c = e.NewContext(plain, httptest.NewRecorder())
	setAuth(c, p, a)
	if c.Request() == plain {
		t.Fatal("without a lazyDeadline the request gets a new context")
	}
	check(c.Request().Context())
	// The values of contexts made the usual way are read too.
	check(store.WithActor(WithPrincipal(parent, p), a))
}
