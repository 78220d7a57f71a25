package cache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/cache"
)

// downStore is a store that can be made unreachable: every read the gateway needs then
// fails with store.ErrUnavailable, as PostgreSQL's do when it is stopped.
type downStore struct {
	store.Store
	down atomic.Bool
	// hold, when set, makes the next GetAgent wait after reading: it says so on started
	// and returns when release is closed.
	hold             atomic.Bool
	started, release chan struct{}
}

func (d *downStore) fail() error {
	if d.down.Load() {
		return fmt.Errorf("%w: connection refused", store.ErrUnavailable)
	}
	return nil
}

func (d *downStore) GetAgent(ctx context.Context, app, uid string) (store.Agent, error) {
	if err := d.fail(); err != nil {
		return store.Agent{}, err
	}
	a, err := d.Store.GetAgent(ctx, app, uid)
	if d.hold.CompareAndSwap(true, false) {
		close(d.started)
		<-d.release
	}
	return a, err
}

func (d *downStore) AgentMCPServers(ctx context.Context, app, uid string) ([]store.MCPServer, error) {
	if err := d.fail(); err != nil {
		return nil, err
	}
	return d.Store.AgentMCPServers(ctx, app, uid)
}

func (d *downStore) GetCredentials(ctx context.Context, app, slug string) (store.AuthInfo, store.Sealed, error) {
	if err := d.fail(); err != nil {
		return store.AuthInfo{}, store.Sealed{}, err
	}
	return d.Store.GetCredentials(ctx, app, slug)
}

func (d *downStore) Ping(ctx context.Context) error {
	if err := d.fail(); err != nil {
		return err
	}
	return d.Store.Ping(ctx)
}

// clock is a settable clock for the outage's bound.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestLastKnownThroughAnOutage: while the store is unavailable, within the bound, the reads
// the gateway needs answer what they last answered; the REST API's (Strict) and what was
// never read fail; a change forgets what it touched; past the bound nothing answers, and
// the first answer of the store ends the outage.
func TestLastKnownThroughAnOutage(t *testing.T) {
	ctx := context.Background()
	inner := &downStore{Store: openSQLite(t)}
	feed := store.NewFeed()
	clk := &clock{t: time.Unix(1e9, 0)}
	outage := cache.NewOutage(time.Minute, clk.now)
	c := cache.New(store.Publishing(inner, feed), 1000, cache.Options{Feed: feed, Outage: outage})
	if _, err := c.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"s1", "s2"} {
		if _, err := c.CreateMCPServer(ctx, "a", store.NewMCPServer{Slug: s, Name: s, URL: "https://" + s + ".example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, uid := range []string{"ag1", "ag2", "never-read"} {
		if _, err := c.CreateAgent(ctx, store.Agent{AppID: "a", UID: uid, Name: uid, RagVersion: "v2"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AttachMCPServers(ctx, "a", uid, []string{"s1"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.AttachMCPServers(ctx, "a", "ag2", []string{"s2"}); err != nil {
		t.Fatal(err)
	}
	read := func(ctx context.Context, uid string) error {
		if _, err := c.GetAgent(ctx, "a", uid); err != nil {
			return err
		}
		l, err := c.AgentMCPServers(ctx, "a", uid)
		if err == nil && len(l) == 0 {
			return errors.New("no servers")
		}
		return err
	}
	for _, uid := range []string{"ag1", "ag2"} {
		if err := read(ctx, uid); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.GetCredentials(ctx, "a", "s1"); err != nil {
		t.Fatal(err)
	}

	inner.down.Store(true)
	if err := c.Ping(ctx); !errors.Is(err, store.ErrUnavailable) || !outage.Down() || !outage.Serving() {
		t.Fatalf("ping of a store down: %v; down %v serving %v", err, outage.Down(), outage.Serving())
	}
	clk.add(30 * time.Second)
	for _, uid := range []string{"ag1", "ag2"} {
		if err := read(ctx, uid); err != nil {
			t.Fatalf("%s within the bound: %v", uid, err)
		}
	}
	if _, _, err := c.GetCredentials(ctx, "a", "s1"); err != nil {
		t.Fatalf("credentials within the bound: %v", err)
	}
	if err := read(ctx, "never-read"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("an agent never read: %v, want ErrUnavailable", err)
	}
	if err := read(cache.Strict(ctx), "ag1"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("a strict read: %v, want ErrUnavailable", err)
	}
	// Changes of another replica that reached the feed before it went down.
	feed.Publish(store.Change{Kind: store.ChangeAgent, AppID: "a", Key: "ag1"})
	if err := read(ctx, "ag1"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("an agent changed since it was read: %v, want ErrUnavailable", err)
	}
	feed.Publish(store.Change{Kind: store.ChangeServer, AppID: "a", Key: "s2"})
	if _, err := c.GetAgent(ctx, "a", "ag2"); err != nil {
		t.Fatalf("the agent itself did not change: %v", err)
	}
	if _, err := c.AgentMCPServers(ctx, "a", "ag2"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("servers of an agent one of which changed: %v, want ErrUnavailable", err)
	}
	if outage.ServedTotal() == 0 {
		t.Fatal("no read counted as answered from last-known state")
	}

	clk.add(30 * time.Second) // the bound
	if !outage.Expired() || outage.Serving() {
		t.Fatalf("past the bound: expired %v serving %v", outage.Expired(), outage.Serving())
	}
	if _, err := c.GetAgent(ctx, "a", "ag2"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("past the bound: %v, want ErrUnavailable", err)
	}

	inner.down.Store(false)
	if err := read(ctx, "ag1"); err != nil || outage.Down() {
		t.Fatalf("the store back: %v, down %v", err, outage.Down())
	}
}

// TestLastKnownReset: a reset (the feed may have missed changes) forgets everything, and a
// read under way when a change arrives does not store what the change made stale.
func TestLastKnownReset(t *testing.T) {
	ctx := context.Background()
	inner := &downStore{Store: openSQLite(t)}
	feed := store.NewFeed()
	outage := cache.NewOutage(time.Hour, nil)
	c := cache.New(store.Publishing(inner, feed), 1000, cache.Options{Feed: feed, Outage: outage})
	if _, err := c.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAgent(ctx, store.Agent{AppID: "a", UID: "ag", Name: "ag", RagVersion: "v2"}); err != nil {
		t.Fatal(err)
	}
	inner.started, inner.release = make(chan struct{}), make(chan struct{})
	inner.hold.Store(true)
	done := make(chan error)
	go func() { _, err := c.GetAgent(ctx, "a", "ag"); done <- err }()
	<-inner.started
	feed.Publish(store.Change{Kind: store.ChangeAgent, AppID: "a", Key: "ag"})
	close(inner.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	inner.down.Store(true)
	if _, err := c.GetAgent(ctx, "a", "ag"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("a read that raced with a change was kept: %v, want ErrUnavailable", err)
	}
	inner.down.Store(false)

	if _, err := c.GetAgent(ctx, "a", "ag"); err != nil {
		t.Fatal(err)
	}
	feed.Publish(store.Change{Kind: store.ChangeReset})
	inner.down.Store(true)
	if _, err := c.GetAgent(ctx, "a", "ag"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("after a reset: %v, want ErrUnavailable", err)
	}
}

// TestLastKnownBounded: last-known state holds at most the cache's size in entries (1,000
// at least); past it nothing more is kept, and what is kept still answers.
func TestLastKnownBounded(t *testing.T) {
	ctx := context.Background()
	inner := &downStore{Store: openSQLite(t)}
	feed := store.NewFeed()
	c := cache.New(store.Publishing(inner, feed), 10, cache.Options{Feed: feed, Outage: cache.NewOutage(time.Hour, nil)})
	if _, err := c.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	const n = 1001
	for i := range n {
		uid := fmt.Sprint("ag", i)
		if _, err := c.CreateAgent(ctx, store.Agent{AppID: "a", UID: uid, Name: uid, RagVersion: "v2"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetAgent(ctx, "a", uid); err != nil {
			t.Fatal(err)
		}
	}
	inner.down.Store(true)
	c.Ping(ctx)
	if _, err := c.GetAgent(ctx, "a", "ag0"); err != nil {
		t.Fatalf("the first agent kept: %v", err)
	}
	if _, err := c.GetAgent(ctx, "a", fmt.Sprint("ag", n-1)); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("the agent past the bound: %v, want ErrUnavailable", err)
	}
}
