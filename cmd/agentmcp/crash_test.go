package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/agentmcp/agentmcp/client"
)

// TestCrashSafety kills a real `agentmcp serve` (SQLite) with SIGKILL in the middle of a
// burst of creates: after a restart every create that got a 201 is there, and the database
// passes PRAGMA integrity_check.
func TestCrashSafety(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crash.db")
	p := startServe(t, db)
	key := p.printedKey(t)
	c, _ := client.New(p.base+"/v3", key)
	ctx := context.Background()

	var mu sync.Mutex
	acked := map[string]client.MCPServer{}
	var wg sync.WaitGroup
	killAfter := make(chan struct{})
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				slug := fmt.Sprintf("k%d-%05d", w, i)
				m, err := c.CreateServer(ctx, client.CreateMCPServer{Name: slug, Slug: slug, Url: "https://k.example.com/" + slug})
				if err != nil {
					return // the server died
				}
				mu.Lock()
				acked[slug] = *m
				if len(acked) == 300 {
					close(killAfter)
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-killAfter:
	case <-time.After(60 * time.Second):
		t.Fatal("the burst never reached 300 creates")
	}
	p.stop(t, syscall.SIGKILL)
	wg.Wait()

	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	raw.Close()

	p2 := startServe(t, db)
	c2, _ := client.New(p2.base+"/v3", key)
	got := serversBySlug(t, c2)
	for slug, m := range acked {
		if got[slug] != m {
			t.Fatalf("acknowledged create %s lost after SIGKILL", slug)
		}
	}
	t.Logf("%d creates acknowledged before SIGKILL, all there after restart (%d stored)", len(acked), len(got))
	p2.stop(t, syscall.SIGTERM)
}
