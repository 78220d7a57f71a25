package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agentmcp/agentmcp/store"
)

func testIdempotency(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	_, started, err := st.BeginIdempotent(ctx, "a", "k", "h1", 1000, 0, 0)
	if err != nil || !started {
		t.Fatalf("first begin: %v %v", started, err)
	}
	rec, started, err := st.BeginIdempotent(ctx, "a", "k", "h1", 1001, 500, 0)
	if err != nil || started || rec.Status != 0 || rec.RequestHash != "h1" {
		t.Fatalf("second begin while running: %+v %v %v", rec, started, err)
	}
	if _, started, _ := st.BeginIdempotent(ctx, "b", "k", "h1", 1001, 500, 0); !started {
		t.Fatal("keys are per app")
	}
	if err := st.FinishIdempotent(ctx, "a", "k", 201, `{"x":1}`, `"1.0"`); err != nil {
		t.Fatal(err)
	}
	rec, started, _ = st.BeginIdempotent(ctx, "a", "k", "h2", 1002, 1500, 0)
	if started || rec.Status != 201 || rec.Body != `{"x":1}` || rec.ETag != `"1.0"` || rec.RequestHash != "h1" {
		t.Fatalf("finished key: %+v %v", rec, started)
	}
	// A holder that went silent (created before staleBefore, still status 0) is taken over.
	st.BeginIdempotent(ctx, "a", "lost", "h", 100, 0, 0)
	if _, started, _ := st.BeginIdempotent(ctx, "a", "lost", "h", 5000, 1000, 0); !started {
		t.Fatal("a stale holder was not taken over")
	}
	// An answered key older than expireBefore starts afresh.
	if _, started, _ := st.BeginIdempotent(ctx, "a", "k", "h3", 99_999, 0, 50_000); !started {
		t.Fatal("an expired key was replayed")
	}
	if err := st.AbandonIdempotent(ctx, "a", "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetIdempotent(ctx, "a", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("abandoned key: %v", err)
	}
	// Left: a/lost (created 5000) and b/k (1001); both are before 10,000.
	if n, err := st.PurgeIdempotency(ctx, 10_000); err != nil || n != 2 {
		t.Fatalf("purged %d, %v", n, err)
	}
}

// testIdempotencyRace: requests that begin one key at once start it exactly once, whether
// the key is new or held by a holder that went silent; the others see it running.
func testIdempotencyRace(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustApp(t, st, "a")
	const n = 16
	begin := func(key string, now, staleBefore int64) {
		t.Helper()
		var wg sync.WaitGroup
		start := make(chan struct{})
		var started atomic.Int32
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				<-start
				rec, ok, err := st.BeginIdempotent(ctx, "a", key, "h", now, staleBefore, 0)
				switch {
				case err != nil:
					errs <- err
				case ok:
					started.Add(1)
				case rec.Status != 0 || rec.CreatedAt != now:
					errs <- fmt.Errorf("a loser saw %+v, not the winner's running key", rec)
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("key %s: %v", key, err)
		}
		if got := started.Load(); got != 1 {
			t.Fatalf("key %s: %d of %d concurrent begins started the request, want 1", key, got, n)
		}
	}
	for i := range 10 {
		key := fmt.Sprintf("k%d", i)
		begin(key, 1000, 0)
		// Now the holder is silent: concurrent takeovers, exactly one wins.
		begin(key, 5000, 2000)
	}
}
