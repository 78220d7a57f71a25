package cache_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/cache"
	"github.com/agentmcp/agentmcp/store/sqlite"
	"github.com/agentmcp/agentmcp/store/storetest"
)

func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// The cached store is a store: it passes the whole conformance suite, with a cache small
// enough that eviction happens.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return cache.New(openSQLite(t), 100) })
}

// slowGet blocks the first read of the inner store until release is closed, so that a write
// can land between the read and the cache's put.
type slowGet struct {
	store.Store
	started, release chan struct{}
	once             bool
}

func (s *slowGet) GetMCPServer(ctx context.Context, app, slug string) (store.MCPServer, error) {
	m, err := s.Store.GetMCPServer(ctx, app, slug)
	if !s.once {
		s.once = true
		close(s.started)
		<-s.release
	}
	return m, err
}

func TestStaleReadIsNotCached(t *testing.T) {
	ctx := context.Background()
	inner := &slowGet{Store: openSQLite(t), started: make(chan struct{}), release: make(chan struct{})}
	if _, err := inner.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := inner.Store.CreateMCPServer(ctx, "a", store.NewMCPServer{Slug: "s", Name: "old", URL: "https://s.example.com"}); err != nil {
		t.Fatal(err)
	}
	c := cache.New(inner, 1000)
	got := make(chan store.MCPServer)
	go func() {
		m, _ := c.GetMCPServer(ctx, "a", "s") // reads "old", then waits
		got <- m
	}()
	<-inner.started
	name := "new"
	if _, _, err := c.UpdateMCPServer(ctx, "a", "s", store.MCPServerPatch{Name: &name}, store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	close(inner.release)
	if m := <-got; m.Name != "old" {
		t.Fatalf("the racing read returned %q", m.Name)
	}
	if m, _ := c.GetMCPServer(ctx, "a", "s"); m.Name != "new" {
		t.Fatalf("a stale read was cached: %q", m.Name)
	}
}

func TestListPagesInvalidatedByWrites(t *testing.T) {
	ctx := context.Background()
	c := cache.New(openSQLite(t), 1000)
	if _, err := c.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateMCPServer(ctx, "a", store.NewMCPServer{Slug: "one", Name: "1", URL: "https://1.example.com"}); err != nil {
		t.Fatal(err)
	}
	page := func() []store.MCPServer {
		l, err := c.ListMCPServers(ctx, "a", store.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if l := page(); len(l) != 1 {
		t.Fatal(l)
	}
	if _, err := c.CreateMCPServer(ctx, "a", store.NewMCPServer{Slug: "two", Name: "2", URL: "https://2.example.com"}); err != nil {
		t.Fatal(err)
	}
	if l := page(); len(l) != 2 || l[0].Slug != "two" {
		t.Fatalf("after a create: %v", l)
	}
	name := "uno"
	c.UpdateMCPServer(ctx, "a", "one", store.MCPServerPatch{Name: &name}, store.Precondition{})
	if l := page(); l[1].Name != "uno" {
		t.Fatalf("after an update: %v", l)
	}
	c.DeleteMCPServer(ctx, "a", "two", store.Precondition{})
	if l := page(); len(l) != 1 {
		t.Fatalf("after a delete: %v", l)
	}
}

// TestFeed: with a feed, another replica's change (written behind the cache's back and
// published on the feed) invalidates; while the feed is unhealthy nothing is served from
// the cache; a reset flushes; MaxAge bounds what the feed never said.
func TestFeed(t *testing.T) {
	ctx := context.Background()
	inner := openSQLite(t)
	if _, err := inner.CreateApp(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := inner.CreateMCPServer(ctx, "app", store.NewMCPServer{Slug: "s", Name: "s", URL: "https://s.example.com"}); err != nil {
		t.Fatal(err)
	}
	feed := store.NewFeed()
	var now atomic.Int64 // the cache's clock, moved by the test
	now.Store(time.Now().UnixNano())
	c := cache.New(inner, 100, cache.Options{Feed: feed, MaxAge: 300 * time.Millisecond, Now: func() time.Time { return time.Unix(0, now.Load()) }})
	get := func() string {
		t.Helper()
		m, err := c.GetMCPServer(ctx, "app", "s")
		if err != nil {
			t.Fatal(err)
		}
		l, err := c.ListMCPServers(ctx, "app", store.Page{Limit: 10})
		if err != nil || len(l) != 1 || l[0].Name != m.Name {
			t.Fatalf("page %+v (%v) disagrees with %q", l, err, m.Name)
		}
		return m.Name
	}
	// elsewhere is a write of another replica: the cache does not see it go by.
	elsewhere := func(name string) {
		t.Helper()
		if _, _, err := inner.UpdateMCPServer(ctx, "app", "s", store.MCPServerPatch{Name: &name}, store.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	get()
	elsewhere("two")
	if got := get(); got != "s" {
		t.Fatalf("the test needs the old value cached, got %q", got)
	}
	feed.Publish(store.Change{Kind: store.ChangeRecord, AppID: "app", Key: "s"})
	if got := get(); got != "two" {
		t.Fatalf("after the change was published: %q", got)
	}

	feed.SetHealthy(false)
	elsewhere("three")
	if got := get(); got != "three" {
		t.Fatalf("the feed is down, yet the cache served %q", got)
	}
	feed.SetHealthy(true) // its reset flushes what was read before the outage
	elsewhere("four")
	get()
	elsewhere("five")
	feed.Publish(store.Change{Kind: store.ChangeReset})
	if got := get(); got != "five" {
		t.Fatalf("after a reset: %q", got)
	}

	elsewhere("six") // never published
	now.Add(int64(299 * time.Millisecond))
	if got := get(); got != "five" {
		t.Fatalf("within MaxAge the cache read the store: %q", got)
	}
	now.Add(int64(2 * time.Millisecond))
	if got := get(); got != "six" {
		t.Fatalf("past MaxAge the cache served %q", got)
	}
}

// counting counts the reads of servers that reach the inner store.
type counting struct {
	store.Store
	gets int
}

func (c *counting) GetMCPServer(ctx context.Context, app, slug string) (store.MCPServer, error) {
	c.gets++
	return c.Store.GetMCPServer(ctx, app, slug)
}

// A page read fills the servers' free room: reading its servers afterwards reaches the
// store for none of them; a full cache keeps what it holds.
func TestListFillsServers(t *testing.T) {
	ctx := context.Background()
	inner := &counting{Store: openSQLite(t)}
	if _, err := inner.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"x", "y", "z"} {
		if _, err := inner.CreateMCPServer(ctx, "a", store.NewMCPServer{Slug: s, Name: s, URL: "https://" + s + ".example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := inner.SaveProbe(ctx, "a", "y", store.ProbeRecord{Status: store.HealthOK, CheckedAt: 5, ToolCount: 2}); err != nil {
		t.Fatal(err)
	}
	c := cache.New(inner, 1000)
	l, err := c.ListMCPServers(ctx, "a", store.Page{Limit: 10})
	if err != nil || len(l) != 3 {
		t.Fatal(l, err)
	}
	for _, want := range l {
		m, err := c.GetMCPServer(ctx, "a", want.Slug)
		if err != nil || m.Name != want.Name || m.URL != want.URL || m.CreatedAt != want.CreatedAt || (m.Health == nil) != (want.Health == nil) {
			t.Fatalf("%+v (%v), want %+v", m, err, want)
		}
		if m.Health != nil && *m.Health != *want.Health {
			t.Fatalf("health %+v, want %+v", *m.Health, *want.Health)
		}
	}
	if inner.gets != 0 {
		t.Fatalf("%d reads reached the store after the page", inner.gets)
	}

	full := cache.New(inner, 1) // one server per shard
	if _, err := full.GetMCPServer(ctx, "a", "x"); err != nil {
		t.Fatal(err)
	}
	full.ListMCPServers(ctx, "a", store.Page{Limit: 10})
	inner.gets = 0
	full.GetMCPServer(ctx, "a", "x")
	if inner.gets != 0 {
		t.Fatal("a page evicted a server")
	}
}

// slowList blocks its first page read until release is closed.
type slowList struct {
	store.Store
	started, release chan struct{}
	once             bool
}

func (s *slowList) ListMCPServers(ctx context.Context, app string, p store.Page) ([]store.MCPServer, error) {
	l, err := s.Store.ListMCPServers(ctx, app, p)
	if !s.once {
		s.once = true
		close(s.started)
		<-s.release
	}
	return l, err
}

// A page read that raced with a write does not put its stale servers in the cache.
func TestStalePageDoesNotFillServers(t *testing.T) {
	ctx := context.Background()
	inner := &slowList{Store: openSQLite(t), started: make(chan struct{}), release: make(chan struct{})}
	if _, err := inner.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := inner.Store.CreateMCPServer(ctx, "a", store.NewMCPServer{Slug: "s", Name: "old", URL: "https://s.example.com"}); err != nil {
		t.Fatal(err)
	}
	c := cache.New(inner, 1000)
	done := make(chan struct{})
	go func() {
		c.ListMCPServers(ctx, "a", store.Page{Limit: 10}) // reads "old", then waits
		close(done)
	}()
	<-inner.started
	name := "new"
	if _, _, err := c.UpdateMCPServer(ctx, "a", "s", store.MCPServerPatch{Name: &name}, store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	close(inner.release)
	<-done
	if m, _ := c.GetMCPServer(ctx, "a", "s"); m.Name != "new" {
		t.Fatalf("a stale page filled the cache: %q", m.Name)
	}
}
