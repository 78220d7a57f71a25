package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
)

// TestPaginationWalk: 1,000 servers created concurrently through the API (so many share a
// millisecond); walking next from the top yields each exactly once, newest first, and
// walking previous back from the bottom yields the same sequence.
func TestPaginationWalk(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{})
	c := env.Client(t, env.KeyA)
	ctx := context.Background()
	const n, workers = 1000, 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "p", Slug: fmt.Sprintf("p-%04d", i), Url: "https://p.example.com"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	for _, limit := range []int{7, 10, 100} {
		var down []client.MCPServer
		opts := client.ListOptions{Limit: limit}
		var last *client.MCPServerList
		for pages := 0; ; pages++ {
			page, err := c.ListServers(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			if page.Meta.Current.Limit != limit || page.Meta.Current.Count != len(page.Data) || len(page.Data) > limit {
				t.Fatalf("meta %+v for %d items", page.Meta, len(page.Data))
			}
			if len(page.Data) == 0 {
				if page.Meta.Next != nil || page.Meta.Previous != nil {
					t.Fatalf("an empty page has cursors: %+v", page.Meta)
				}
				break
			}
			down = append(down, page.Data...)
			last = page
			opts = client.ListOptions{Limit: limit, Affix: string(page.Meta.Next.Affix), CreatedAt: page.Meta.Next.CreatedAt}
			if pages > n {
				t.Fatal("pagination does not end")
			}
		}
		if len(down) != n {
			t.Fatalf("limit %d: walked %d servers, want %d", limit, len(down), n)
		}
		seen := map[string]bool{}
		sameMs := 0
		for i, s := range down {
			if seen[s.Slug] {
				t.Fatalf("limit %d: %s seen twice", limit, s.Slug)
			}
			seen[s.Slug] = true
			if i > 0 && s.CreatedAt >= down[i-1].CreatedAt {
				t.Fatalf("limit %d: not newest first at %d", limit, i)
			}
			if i > 0 && down[i-1].CreatedAt-s.CreatedAt == 1 {
				sameMs++
			}
		}

		// Back up with previous from the last page: same servers, same order.
		var up []client.MCPServer
		opts = client.ListOptions{Limit: limit, Affix: string(last.Meta.Previous.Affix), CreatedAt: last.Meta.Previous.CreatedAt}
		up = append(up, last.Data...)
		for {
			page, err := c.ListServers(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Data) == 0 {
				break
			}
			up = append(append([]client.MCPServer{}, page.Data...), up...)
			opts = client.ListOptions{Limit: limit, Affix: string(page.Meta.Previous.Affix), CreatedAt: page.Meta.Previous.CreatedAt}
		}
		if fmt.Sprint(up) != fmt.Sprint(down) {
			t.Fatalf("limit %d: walking previous gave %d servers, not the %d of walking next", limit, len(up), len(down))
		}
		if limit == 10 {
			t.Logf("%d of %d neighbours 1 ms apart", sameMs, n-1)
		}
	}
}
