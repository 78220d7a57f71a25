package cache_test

import (
	"context"
	"path/filepath"
	"testing"

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
