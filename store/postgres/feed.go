package postgres

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentmcp/agentmcp/store"
)

// The change feed between replicas: each replica's writes are published, after they
// committed, by its Notifier on channel agentmcp_changes; every replica's Listen hands what
// the others published to its own store.Feed (a replica's own changes reach its feed
// directly, through store.Publishing).
//
// A NOTIFY is sent outside the write's transaction, in a transaction of its own with
// synchronous_commit off, a batch of changes per statement: PostgreSQL holds a
// database-wide lock from a notifying transaction's pre-commit to its end, WAL flush
// included, so a NOTIFY inside every write would serialise all writers (measured: 2.4–5×
// fewer commits/s at 16 clients with fsync on). The price is a window: a replica that
// dies between a commit and its batch leaves the others' caches stale until their entries'
// age limit (store/cache).
const channel = "agentmcp_changes"

// Change payloads: {"k":kind,"a":app,"id":key,"o":origin}; a payload is at most 8,000
// bytes, and an app id and a key are bounded far below that.
type payload struct {
	K  string `json:"k"`
	A  string `json:"a"`
	ID string `json:"id"`
	O  string `json:"o"`
}

// Origin names this process among the replicas, so that Listen skips its own changes.
func newOrigin() string { return rand.Text()[:16] }

// Notifier publishes changes to the other replicas. Publish never blocks a writer: past
// maxQueued changes waiting, or while the connection is down, it owes a reset instead,
// sent once it can send again. A change already waiting is not queued again, and a batch
// goes gather after the change that woke it: under load a replica sends at most one
// notifying transaction per gather, each of its changes once (a busy agent's many
// attaches are one change to the others' caches), rather than one per write.
type Notifier struct {
	s       *Store
	log     *slog.Logger
	mu      sync.Mutex
	queue   []store.Change
	waiting map[store.Change]bool // those in queue
	owed    bool                  // changes were dropped: send a reset
	wake    chan struct{}
}

const (
	maxQueued = 10000
	maxBatch  = 500
	// gather is a tenth of the 100 ms in which a write is seen through the other replicas.
	gather = 10 * time.Millisecond
)

// Notifier returns the notifier of s; Run sends what it is given.
func (s *Store) Notifier(log *slog.Logger) *Notifier {
	return &Notifier{s: s, log: log, wake: make(chan struct{}, 1)}
}

// Publish queues c for the other replicas.
func (n *Notifier) Publish(c store.Change) {
	n.mu.Lock()
	switch {
	case n.waiting[c]:
	case len(n.queue) >= maxQueued:
		n.drop()
	default:
		if n.waiting == nil {
			n.waiting = make(map[store.Change]bool)
		}
		n.queue, n.waiting[c] = append(n.queue, c), true
	}
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// drop empties the queue for a reset: the others will be told to flush everything.
// n.mu is held.
func (n *Notifier) drop() {
	n.queue, n.owed = n.queue[:0], true
	clear(n.waiting)
}

// Run sends queued changes until ctx ends, then what is left (for a bounded time).
func (n *Notifier) Run(ctx context.Context) {
	defer func() {
		fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for more := true; more; {
			var err error
			if more, err = n.send(fctx); err != nil {
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		sleep(ctx, gather)
		backoff := 100 * time.Millisecond
		for more := true; more && ctx.Err() == nil; {
			var err error
			if more, err = n.send(ctx); err != nil {
				n.failed(err, backoff == 100*time.Millisecond) // said once per outage
				sleep(ctx, backoff)
				backoff, more = min(2*backoff, 5*time.Second), true
			}
		}
	}
}

func (n *Notifier) failed(err error, say bool) {
	n.mu.Lock()
	n.drop()
	n.mu.Unlock()
	if say && n.log != nil && !errors.Is(err, context.Canceled) {
		n.log.Warn("change feed: cannot notify the other replicas; they will be told to flush once it can", slog.String("error", err.Error()))
	}
}

// send sends up to maxBatch queued changes in one statement on a connection of the pool
// (always warm, unlike a connection of its own to re-open), committed without waiting for
// its WAL flush; more says some are left.
func (n *Notifier) send(ctx context.Context) (more bool, err error) {
	n.mu.Lock()
	var batch []store.Change
	if n.owed {
		batch = []store.Change{{Kind: store.ChangeReset}}
	}
	k := min(len(n.queue), maxBatch-len(batch))
	batch = append(batch, n.queue[:k]...)
	for _, c := range n.queue[:k] {
		delete(n.waiting, c)
	}
	n.queue = n.queue[k:]
	if len(n.queue) == 0 {
		n.queue = nil
	}
	n.owed = false // on failure Run's failed owes it again
	more = len(n.queue) > 0
	n.mu.Unlock()
	if len(batch) == 0 {
		return false, nil
	}
	texts := make([]string, len(batch))
	for i, c := range batch {
		b, _ := json.Marshal(payload{K: c.Kind, A: c.AppID, ID: c.Key, O: n.s.origin})
		texts[i] = string(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	const q = "SELECT pg_notify('" + channel + "', p) FROM (SELECT set_config('synchronous_commit', 'off', true)) AS c, unnest($1::text[]) AS p"
	if _, err := n.s.pool.Exec(ctx, q, texts); err != nil {
		return false, err
	}
	return more, nil
}

// Listen delivers the changes the other replicas publish to f until ctx ends. While its
// connection is down the feed is unhealthy; once it listens again it publishes a reset,
// since changes may have been missed. A connection that stops answering is found by a
// ping after a quiet while.
func (s *Store) Listen(ctx context.Context, f *store.Feed, log *slog.Logger) {
	for backoff := 100 * time.Millisecond; ctx.Err() == nil; {
		err := s.listen(ctx, f)
		f.SetHealthy(false)
		if ctx.Err() != nil {
			return
		}
		if log != nil {
			log.Warn("change feed: connection lost; reconnecting", slog.String("error", err.Error()))
		}
		sleep(ctx, backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
}

// FeedApplicationName is the application_name of Listen's connection, followed by "/" and
// the process id.
const FeedApplicationName = "agentmcp-feed"

func (s *Store) listen(ctx context.Context, f *store.Feed) error {
	// A connection of its own, not the pool's, with the pool's settings.
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = FeedApplicationName + "/" + strconv.Itoa(os.Getpid()) // which replica's, for operators (and tests)
	cfg.RuntimeParams["statement_timeout"] = "0"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	f.SetHealthy(true)
	for {
		wctx, cancel := context.WithTimeout(ctx, s.feedPing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) || conn.IsClosed() {
				return err
			}
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := conn.Ping(pctx) // notifications it reads wait in conn for the next wait
			cancel()
			if err != nil {
				return err
			}
			continue
		}
		var m payload
		if n == nil || n.Channel != channel || json.Unmarshal([]byte(n.Payload), &m) != nil || m.O == s.origin {
			continue
		}
		f.Publish(store.Change{Kind: m.K, AppID: m.A, Key: m.ID})
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
