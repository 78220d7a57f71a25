package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/internal/sqlstore"
)

// Group commit. SQLite has one writer, so write transactions queue for it anyway; the
// writer goroutine takes the queue as it finds it and runs up to maxBatch of them as one
// transaction, each under its own SAVEPOINT: a write that fails is rolled back to its
// savepoint and answered alone, the others commit together. One commit instead of many is
// most of the writer's cost (the WAL frames of pages several writes touch are written
// once), and the queue is first come, first served, where database/sql hands its one
// connection to a random waiter.
const (
	maxBatch   = 128
	queueDepth = 1024
)

// job is one write; its caller may leave it while it is queued (sqlstore.Ticket).
type job struct {
	sqlstore.Ticket
	ctx  context.Context
	fn   func(q sqlstore.Querier) error
	done chan error // buffered: the writer never waits for the caller
}

// panicked carries a panic of a write's fn back to the caller's goroutine, which re-panics:
// the request's recovery answers it, as before the writer was a goroutine of its own.
type panicked struct{ v any }

func (p panicked) Error() string { return fmt.Sprintf("sqlite: write panicked: %v", p.v) }

type writer struct {
	db      *sql.DB
	p       *stmts
	jobs    chan *job
	quit    chan struct{}
	stopped chan struct{}
	ctx     context.Context // the writer's own statements (BEGIN, SAVEPOINT, COMMIT); cancelled by close
	cancel  context.CancelFunc
	once    sync.Once
	commits atomic.Int64 // transactions committed (tests)
}

var errClosed = fmt.Errorf("%w: sqlite: store closed", store.ErrUnavailable)

func newWriter(db *sql.DB, p *stmts) *writer {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writer{db: db, p: p, jobs: make(chan *job, queueDepth), quit: make(chan struct{}),
		stopped: make(chan struct{}), ctx: ctx, cancel: cancel}
	go w.loop()
	return w
}

// do runs fn in a write transaction and returns once it has committed or failed. A caller
// whose context ends while its write is still queued leaves at once, and the write never
// runs; once it runs it finishes (its statements ignore the cancellation: SQLite's
// interrupt would roll back the whole batch), which takes a few statements on a lock held.
func (w *writer) do(ctx context.Context, fn func(q sqlstore.Querier) error) error {
	if err := ctx.Err(); err != nil {
		return classify(err)
	}
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case <-w.quit:
		return errClosed
	default:
	}
	select {
	case w.jobs <- j:
	case <-ctx.Done():
		return classify(ctx.Err())
	case <-w.quit:
		return errClosed
	}
	select {
	case err := <-j.done:
		return rethrow(err)
	case <-ctx.Done():
		if j.Leave() {
			return classify(ctx.Err())
		}
	case <-w.stopped: // queued as the store closed, after the writer's last look
		if j.Leave() {
			return errClosed
		}
	}
	return rethrow(<-j.done)
}

func rethrow(err error) error {
	if p, ok := err.(panicked); ok {
		panic(p.v)
	}
	return err
}

func (w *writer) close() {
	w.once.Do(func() {
		close(w.quit)
		w.cancel()
		<-w.stopped
	})
}

func (w *writer) loop() {
	defer close(w.stopped)
	batch := make([]*job, 0, maxBatch)
	for {
		select {
		case j := <-w.jobs:
			batch = append(batch[:0], j)
		case <-w.quit:
			w.drain()
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case j := <-w.jobs:
				batch = append(batch, j)
			default:
				break more
			}
		}
		w.run(batch)
		clear(batch) // drop the finished jobs' closures
	}
}

// drain answers the jobs left queued at close.
func (w *writer) drain() {
	for {
		select {
		case j := <-w.jobs:
			if j.Take() {
				j.done <- errClosed
			}
		default:
			return
		}
	}
}

// run commits batch as one transaction. When the transaction as a whole fails (COMMIT, or
// a failure SQLite answers by rolling it all back), the writes of the batch that ran are
// run again alone and the rest as a batch of their own, so one write's trouble is never
// another's. Writes are claimed only once BEGIN has the lock: until then a caller whose
// deadline ends (another process holding the lock) can still leave.
func (w *writer) run(batch []*job) {
	var live []*job
	for _, j := range batch {
		if j.Waiting() {
			live = append(live, j)
		}
	}
	if len(live) == 0 {
		return
	}
	var pending []string
	defer func() { w.p.prepareAll(w.ctx, pending) }()
	tx, err := w.db.BeginTx(w.ctx, nil)
	if err != nil {
		w.fail(live, err)
		return
	}
	single := len(live) == 1 // no savepoint: its failure rolls the transaction back
	ok := make([]*job, 0, len(live))
	for i, j := range live {
		if !j.Take() {
			continue
		}
		q := txq{tx: tx, p: w.p, pending: &pending, ctx: context.WithoutCancel(j.ctx)}
		if single {
			if err := call(j.fn, q); err != nil {
				tx.Rollback()
				j.done <- err
				return
			}
			ok = append(ok, j)
			break
		}
		if _, err := tx.ExecContext(w.ctx, "SAVEPOINT w"); err != nil {
			tx.Rollback()
			w.again(append(ok, j), live[i+1:])
			return
		}
		ferr := call(j.fn, q)
		if ferr == nil {
			_, err = tx.ExecContext(w.ctx, "RELEASE w")
		} else if _, err = tx.ExecContext(w.ctx, "ROLLBACK TO w"); err == nil {
			_, err = tx.ExecContext(w.ctx, "RELEASE w")
		}
		if err != nil { // the transaction is gone: nothing of the batch is written
			tx.Rollback()
			w.again(append(ok, j), live[i+1:])
			return
		}
		if ferr != nil {
			j.done <- ferr
			continue
		}
		ok = append(ok, j)
	}
	if err := tx.Commit(); err != nil {
		if len(ok) == 1 {
			ok[0].done <- w.closedOr(err)
			return
		}
		w.again(ok, nil)
		return
	}
	if len(ok) > 0 {
		w.committed()
	}
	for _, j := range ok {
		j.done <- nil
	}
}

// again runs the writes of a batch that did not commit: those that ran (their callers
// wait) one by one, the rest as a new batch.
func (w *writer) again(ran, rest []*job) {
	for _, j := range ran {
		err := runTx(w.ctx, w.db, w.p, nil, func(q sqlstore.Querier) error {
			t := q.(txq)
			t.ctx = context.WithoutCancel(j.ctx)
			return call(j.fn, t)
		})
		if err == nil {
			w.committed()
		}
		j.done <- w.closedOr(err)
	}
	if len(rest) > 0 {
		w.run(rest)
	}
}

func (w *writer) closedOr(err error) error {
	if err != nil && w.ctx.Err() != nil {
		return errClosed
	}
	return classify(err)
}

// fail answers every write of a batch that could not begin.
func (w *writer) fail(jobs []*job, err error) {
	err = w.closedOr(err)
	for _, j := range jobs {
		if j.Take() {
			j.done <- err
		}
	}
}

func (w *writer) committed() { w.commits.Add(1) }

// call runs fn, turning a panic into the caller's.
func call(fn func(q sqlstore.Querier) error, q sqlstore.Querier) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicked{v}
		}
	}()
	return fn(q)
}

// writeQ runs the store's single-statement writes through the writer's queue as well.
type writeQ struct{ w *writer }

var _ sqlstore.Querier = writeQ{}

func (q writeQ) Exec(ctx context.Context, query string, args ...any) (n int64, err error) {
	err = q.w.do(ctx, func(t sqlstore.Querier) error {
		var err error
		n, err = t.Exec(ctx, query, args...)
		return err
	})
	return n, err
}

func (q writeQ) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Scanner {
	return writeRow{q: q, ctx: ctx, query: query, args: args}
}

func (q writeQ) Query(ctx context.Context, query string, args []any, fn func(sqlstore.Scanner) error) error {
	return q.w.do(ctx, func(t sqlstore.Querier) error { return t.Query(ctx, query, args, fn) })
}

// writeRow runs its query when scanned.
type writeRow struct {
	q     writeQ
	ctx   context.Context
	query string
	args  []any
}

func (r writeRow) Scan(dest ...any) error {
	return r.q.w.do(r.ctx, func(t sqlstore.Querier) error { return t.QueryRow(r.ctx, r.query, r.args...).Scan(dest...) })
}
