package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/pgtest"
)

// TestAuditRetention: serve purges audit events older than --audit-retention in the
// background, on both backends, and keeps the younger ones.
func TestAuditRetention(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { auditRetention(t, filepath.Join(t.TempDir(), "a.db")) })
	t.Run("postgres", func(t *testing.T) { auditRetention(t, pgtest.NewDatabase(t)) })
}

func auditRetention(t *testing.T, db string) {
	const retention = 5 * time.Second
	p := startServe(t, db, "--audit-retention="+retention.String())
	c, err := client.New(p.base+"/v3", p.printedKey(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// targets lists the events' targets, and checks the promise on every listing: an event
	// younger than the retention (measured after the answer, so that any purge that could
	// have removed it ran before) is still there.
	created := map[string]int64{} // target → at, of the events this test made
	targets := func() []string {
		t.Helper()
		l, err := c.AuditEvents(ctx, client.AuditOptions{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UnixMilli()
		var out []string
		seen := map[string]bool{}
		for _, e := range l.Data {
			out = append(out, e.Target)
			seen[e.Target] = true
		}
		for target, at := range created {
			if !seen[target] && now-at < retention.Milliseconds() {
				t.Fatalf("%s, %d ms old, was purged before the retention of %s: %v", target, now-at, retention, out)
			}
		}
		return out
	}
	create := func(slug string) {
		t.Helper()
		before := time.Now().UnixMilli()
		if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: slug, Slug: slug, Url: "https://" + slug + ".example.com"}); err != nil {
			t.Fatal(err)
		}
		created["mcp_server:"+slug] = before
	}
	create("old")
	targets() // old is there (and the first start's key, unless already past the retention)
	// The purge runs every retention/10 (at least a second) once old is past the retention:
	// polled with room for a loaded machine.
	for deadline := time.Now().Add(retention + 30*time.Second); ; {
		if got := targets(); len(got) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events past the retention: %v\nstderr: %s", targets(), p.stderr)
		}
		time.Sleep(200 * time.Millisecond) // poll interval
	}
	delete(created, "mcp_server:old")
	create("new")
	if got := targets(); len(got) > 1 { // new is there unless it too outlived the retention
		t.Fatalf("events after the retention: %v\nstderr: %s", got, p.stderr)
	}
}

// TestTrustedProxiesFlag: a CIDR list that does not parse stops serve before it listens.
func TestTrustedProxiesFlag(t *testing.T) {
	_, stderr, code := runCmd(t, "serve", "--addr", freeAddr(t), "--db", filepath.Join(t.TempDir(), "a.db"), "--trusted-proxies", "10.0.0.0/8, nope")
	if code == 0 || !strings.Contains(stderr, `"nope" is not a CIDR`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
