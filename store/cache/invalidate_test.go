package cache

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/sqlite"
)

// TestWriteInvalidatesOnce: behind the feed, as internal/app builds it (the cache over a
// store that publishes on the feed the cache observes), a PATCH invalidates the cache
// once, through the feed; without a feed the cache invalidates by itself, once too.
func TestWriteInvalidatesOnce(t *testing.T) {
	for _, withFeed := range []bool{true, false} {
		ctx := context.Background()
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var c *Store
		if withFeed {
			feed := store.NewFeed()
			c = New(store.Publishing(db, feed), 100, Options{Feed: feed})
		} else {
			c = New(db, 100)
		}
		if _, err := c.CreateApp(ctx, "app"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateMCPServer(ctx, "app", store.NewMCPServer{Slug: "s", Name: "s", URL: "https://s.example.com"}); err != nil {
			t.Fatal(err)
		}
		gen := func() uint64 {
			c.pages.mu.RLock()
			defer c.pages.mu.RUnlock()
			return c.pages.gens["app"]
		}
		before := gen()
		name := "two"
		if _, _, err := c.UpdateMCPServer(ctx, "app", "s", store.MCPServerPatch{Name: &name}, store.Precondition{}); err != nil {
			t.Fatal(err)
		}
		if n := gen() - before; n != 1 {
			t.Errorf("feed %v: a PATCH invalidated %d times, want 1", withFeed, n)
		}
		if m, err := c.GetMCPServer(ctx, "app", "s"); err != nil || m.Name != "two" {
			t.Errorf("feed %v: after the PATCH: %q, %v", withFeed, m.Name, err)
		}
	}
}
