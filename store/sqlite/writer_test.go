package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/internal/sqlstore"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "w.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.CreateApp(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	return st
}

// hold occupies the writer until the returned func is called, so that what is queued in
// the meantime runs as one batch.
func hold(t *testing.T, st *Store) (release func()) {
	t.Helper()
	started, gate := make(chan struct{}), make(chan struct{})
	go st.wr.do(context.Background(), func(sqlstore.Querier) error {
		close(started)
		<-gate
		return nil
	})
	<-started
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	return release
}

// waitQueued waits until n writes wait in the writer's queue.
func waitQueued(t *testing.T, st *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); len(st.wr.jobs) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", len(st.wr.jobs), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func newServer(slug string) store.NewMCPServer {
	return store.NewMCPServer{Slug: slug, Name: "S " + slug, URL: "https://" + slug + ".example.com/mcp"}
}

// TestBatchFailuresStayTheirOwn: writes queued together commit in one transaction, and the
// ones that fail (a duplicate slug, an error after a write, a panic) are answered alone
// and leave nothing behind, while the others commit.
func TestBatchFailuresStayTheirOwn(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	if _, err := st.CreateMCPServer(ctx, "a", newServer("taken")); err != nil {
		t.Fatal(err)
	}
	release := hold(t, st)
	const good = 10
	errs := make([]error, good+3)
	var wg sync.WaitGroup
	for i := range good {
		wg.Go(func() { _, errs[i] = st.CreateMCPServer(ctx, "a", newServer(fmt.Sprintf("ok-%d", i))) })
	}
	wg.Go(func() { _, errs[good] = st.CreateMCPServer(ctx, "a", newServer("taken")) })
	boom := errors.New("boom")
	wg.Go(func() {
		errs[good+1] = st.inTx(ctx, func(q sqlstore.Querier) error {
			if _, err := q.Exec(ctx, "INSERT INTO apps (id, created_at) VALUES ('half', 1)"); err != nil {
				return err
			}
			return boom // after a write: the savepoint takes it back
		})
	})
	var panicked any
	wg.Go(func() {
		defer func() { panicked = recover() }()
		st.inTx(ctx, func(q sqlstore.Querier) error {
			q.Exec(ctx, "INSERT INTO apps (id, created_at) VALUES ('panicked', 1)")
			panic("write panicked")
		})
	})
	waitQueued(t, st, good+3)
	before := st.wr.commits.Load()
	release()
	wg.Wait()
	for i := range good {
		if errs[i] != nil {
			t.Fatalf("create %d: %v", i, errs[i])
		}
	}
	if !errors.Is(errs[good], store.ErrConflict) {
		t.Fatalf("duplicate slug in the batch: %v, want ErrConflict", errs[good])
	}
	if !errors.Is(errs[good+1], boom) {
		t.Fatalf("failing write: %v, want its own error", errs[good+1])
	}
	if panicked != "write panicked" {
		t.Fatalf("the panic reached its caller as %v", panicked)
	}
	// The holder's commit and the batch's: two, not one per write.
	if n := st.wr.commits.Load() - before; n > 2 {
		t.Fatalf("%d commits for one batch", n)
	}
	page, err := st.ListMCPServers(ctx, "a", store.Page{Limit: 100})
	if err != nil || len(page) != good+1 {
		t.Fatalf("servers after the batch: %d, %v; want %d", len(page), err, good+1)
	}
	var n int
	if err := st.rq.QueryRow(ctx, "SELECT COUNT(*) FROM apps WHERE id IN ('half', 'panicked')").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rolled-back writes left %d rows (%v)", n, err)
	}
}

// TestBrokenBatchIsRedone: a write that ends the whole transaction (here by rolling it back
// itself) costs the others nothing: they are run again and commit.
func TestBrokenBatchIsRedone(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	release := hold(t, st)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range 5 {
		wg.Go(func() { _, errs[i] = st.CreateMCPServer(ctx, "a", newServer(fmt.Sprintf("s-%d", i))) })
		if i == 2 {
			waitQueued(t, st, 3)
			wg.Go(func() {
				errs[5] = st.inTx(ctx, func(q sqlstore.Querier) error {
					_, err := q.Exec(ctx, "ROLLBACK")
					return err
				})
			})
			waitQueued(t, st, 4)
		}
	}
	waitQueued(t, st, 6)
	release()
	wg.Wait()
	for i := range 5 {
		if errs[i] != nil {
			t.Fatalf("create %d beside a broken transaction: %v", i, errs[i])
		}
	}
	if errs[5] == nil {
		t.Fatal("the write that rolled back the transaction reported success")
	}
	if page, err := st.ListMCPServers(ctx, "a", store.Page{Limit: 10}); err != nil || len(page) != 5 {
		t.Fatalf("servers: %d, %v; want 5", len(page), err)
	}
}

// TestQueuedWriteCanLeave: a caller whose deadline ends while its write waits in the queue
// gets ErrUnavailable at once, and the write never runs.
func TestQueuedWriteCanLeave(t *testing.T) {
	st := openTest(t)
	release := hold(t, st)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ran := false
	// The writer is held until release: that inTx returns at all shows the caller left the
	// queue without waiting for its turn, and no clock is raced.
	err := st.inTx(ctx, func(sqlstore.Querier) error { ran = true; return nil })
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued past its deadline: %v, want ErrUnavailable wrapping DeadlineExceeded", err)
	}
	release()
	if err := st.inTx(context.Background(), func(sqlstore.Querier) error { return nil }); err != nil { // the writer has passed the abandoned write
		t.Fatal(err)
	}
	if ran {
		t.Fatal("an abandoned write ran")
	}
}

// TestClosedStoreRefusesWrites: writes after Close are ErrUnavailable, never a hang.
func TestClosedStoreRefusesWrites(t *testing.T) {
	st := openTest(t)
	st.Close()
	if _, err := st.CreateMCPServer(context.Background(), "a", newServer("late")); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("write after Close: %v, want ErrUnavailable", err)
	}
}
