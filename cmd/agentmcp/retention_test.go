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
	p := startServe(t, db, "--audit-retention=5s")
	c, err := client.New(p.base+"/v3", p.printedKey(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "old", Slug: "old", Url: "https://old.example.com"}); err != nil {
		t.Fatal(err)
	}
	targets := func() []string {
		l, err := c.AuditEvents(ctx, client.AuditOptions{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range l.Data {
			out = append(out, e.Target)
		}
		return out
	}
	if got := targets(); len(got) != 2 || got[0] != "mcp_server:old" { // and the first start's key
		t.Fatalf("events before the retention ran out: %v", got)
	}
	time.Sleep(3 * time.Second)
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "new", Slug: "new", Url: "https://new.example.com"}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		got := targets()
		if strings.Join(got, ",") == "mcp_server:new" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events after the retention: %v\nstderr: %s", got, p.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestTrustedProxiesFlag: a CIDR list that does not parse stops serve before it listens.
func TestTrustedProxiesFlag(t *testing.T) {
	_, stderr, code := runCmd(t, "serve", "--addr", freeAddr(t), "--db", filepath.Join(t.TempDir(), "a.db"), "--trusted-proxies", "10.0.0.0/8, nope")
	if code == 0 || !strings.Contains(stderr, `"nope" is not a CIDR`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
