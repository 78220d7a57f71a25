package probe

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/agentmcp/agentmcp/store"
)

// Record is r as the store keeps it.
func (r Result) Record() store.ProbeRecord {
	rec := store.ProbeRecord{
		Status: string(r.Status), CheckedAt: r.CheckedAt.UnixMilli(), LatencyMs: r.Latency.Milliseconds(),
		ProtocolVersion: r.ProtocolVersion, ServerName: r.ServerName, ServerVersion: r.ServerVersion,
		Capabilities: r.Capabilities, ToolCount: len(r.Tools), Error: r.Error,
		AuthScheme: r.AuthScheme, ResourceMetadata: r.ResourceMetadata,
	}
	if r.Status == StatusOK {
		tools := r.Tools
		if tools == nil {
			tools = []Tool{}
		}
		rec.Tools, _ = json.Marshal(tools)
	}
	return rec
}

// RunnerOptions tune background probing.
type RunnerOptions struct {
	Workers   int           // probes at once (default 4); the API never waits for them
	Interval  time.Duration // re-probe every server this often, with jitter; 0 = never
	QueueSize int           // pending probes beyond which new ones are dropped (default 1000)
	Slots     *Slots        // shared with POST …/probe (default: NewSlots(Workers, Workers))
	Logger    *slog.Logger
	// Credentials returns what a server's stored credentials send (nil: none).
	Credentials func(ctx context.Context, appID, slug string) (Auth, error)
}

// Runner probes servers in the background: those enqueued after a write, and, every
// Interval, every server whose last probe is older than that (claimed in the store, so
// replicas share the work). Pending probes wait per app and are handed out in turn, each
// app within its share of Slots, so one app's burst (an import) cannot hold every slot
// and keep other apps' probes, background or POST …/probe, waiting behind it.
type Runner struct {
	st    store.Store
	p     *Prober
	opt   RunnerOptions
	queue *fairQueue
	stop  context.CancelFunc
	wg    sync.WaitGroup
}

func NewRunner(st store.Store, p *Prober, opt RunnerOptions) *Runner {
	if opt.Workers <= 0 {
		opt.Workers = 4
	}
	if opt.QueueSize <= 0 {
		opt.QueueSize = 1000
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Slots == nil {
		opt.Slots = NewSlots(opt.Workers, opt.Workers)
	}
	return &Runner{st: st, p: p, opt: opt, queue: newFairQueue(opt.QueueSize)}
}

// Enqueue asks for a probe soon; it never blocks, and drops the request when the queue is
// full (the periodic pass catches up).
func (r *Runner) Enqueue(ref store.ServerRef) bool { return r.queue.push(ref) }

// Start starts the workers and the periodic pass; Stop ends them.
func (r *Runner) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	for range r.opt.Workers {
		r.wg.Go(func() { r.work(ctx) })
	}
	if r.opt.Interval > 0 {
		r.wg.Go(func() { r.schedule(ctx) })
	}
}

// Stop cancels running probes and waits for the goroutines.
func (r *Runner) Stop() {
	if r.stop != nil {
		r.stop()
	}
	r.wg.Wait()
}

func (r *Runner) work(ctx context.Context) {
	for {
		ref, release, err := r.queue.next(ctx, r.opt.Slots)
		if err != nil {
			return
		}
		var header Auth
		if r.opt.Credentials != nil {
			h, err := r.opt.Credentials(ctx, ref.AppID, ref.Slug)
			if err != nil {
				release()
				r.opt.Logger.Warn("opening credentials for a probe", slog.String("app_id", ref.AppID), slog.String("slug", ref.Slug), slog.String("error", err.Error()))
				continue
			}
			header = h
		}
		res := r.p.Probe(ctx, ref.URL, header)
		if ctx.Err() != nil {
			release()
			return
		}
		if err := r.st.SaveProbe(ctx, ref.AppID, ref.Slug, res.Record()); err != nil {
			r.opt.Logger.Warn("saving a probe", slog.String("app_id", ref.AppID), slog.String("slug", ref.Slug), slog.String("error", err.Error()))
		}
		release() // only now is the result's memory let go
	}
}

// fairQueue holds pending probes per app, at most size in all, and hands them out
// round-robin across the apps that have a free slot in their share.
type fairQueue struct {
	mu    sync.Mutex
	size  int
	n     int
	apps  map[string][]store.ServerRef
	turn  []string      // apps with pending probes, the next to serve first
	added chan struct{} // closed (and replaced) whenever a probe is added
}

func newFairQueue(size int) *fairQueue {
	return &fairQueue{size: size, apps: map[string][]store.ServerRef{}, added: make(chan struct{})}
}

func (q *fairQueue) push(ref store.ServerRef) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n >= q.size {
		return false
	}
	if len(q.apps[ref.AppID]) == 0 {
		q.turn = append(q.turn, ref.AppID)
	}
	q.apps[ref.AppID] = append(q.apps[ref.AppID], ref)
	q.n++
	close(q.added)
	q.added = make(chan struct{})
	return true
}

func (q *fairQueue) free() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.size - q.n
}

// next waits for a pending probe whose app may run one more, takes its slot and returns
// both; the app goes to the back of the turn.
func (q *fairQueue) next(ctx context.Context, slots *Slots) (store.ServerRef, func(), error) {
	for {
		freed := slots.changed() // before trying: a release after it wakes the wait below
		q.mu.Lock()
		for i, app := range q.turn {
			release, ok := slots.TryAcquire(app)
			if !ok {
				continue
			}
			pending := q.apps[app]
			ref := pending[0]
			q.turn = append(q.turn[:i:i], q.turn[i+1:]...)
			if len(pending) == 1 {
				delete(q.apps, app)
			} else {
				q.apps[app] = pending[1:]
				q.turn = append(q.turn, app)
			}
			q.n--
			q.mu.Unlock()
			return ref, release, nil
		}
		added := q.added
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return store.ServerRef{}, nil, ctx.Err()
		case <-added:
		case <-freed:
		}
	}
}

// schedule claims stale servers every tenth of the interval (between 1 s and 1 min), with
// jitter so that replicas and restarts do not line up.
func (r *Runner) schedule(ctx context.Context) {
	every := min(max(r.opt.Interval/10, time.Second), time.Minute)
	for {
		wait := every/2 + rand.N(every)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		free := r.queue.free()
		if free == 0 {
			continue
		}
		now := time.Now()
		lease := now.Add(2*r.p.opt.Timeout + every)
		refs, err := r.st.ClaimProbes(ctx, now.Add(-r.opt.Interval).UnixMilli(), now.UnixMilli(), lease.UnixMilli(), free)
		if err != nil {
			r.opt.Logger.Warn("claiming probes", slog.String("error", err.Error()))
			continue
		}
		for _, ref := range refs {
			r.Enqueue(ref)
		}
	}
}
