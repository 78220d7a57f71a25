// Package pgtest gives tests real PostgreSQL databases from the cluster that
// scripts/test-postgres.sh starts (AGENTMCP_TEST_POSTGRES_URL). Without it, tests skip with
// a clear message on a developer machine and fail in CI, where PostgreSQL is required.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URL returns the admin URL of the test cluster, or skips (fails in CI) without one.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("AGENTMCP_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("AGENTMCP_TEST_POSTGRES_URL is not set: in CI the PostgreSQL tests must run (use scripts/test-postgres.sh)")
		}
		t.Skip("SKIPPED: no PostgreSQL (AGENTMCP_TEST_POSTGRES_URL unset); run `make test` or scripts/test-postgres.sh go test ./...")
	}
	return u
}

// NewDatabase creates an empty database for one test, dropped at cleanup, and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := URL(t)
	var b [6]byte
	rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connecting to the test cluster: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, admin); err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
