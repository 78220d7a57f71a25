// Package pgtest gives tests real PostgreSQL databases from the cluster that
// scripts/test-postgres.sh starts (AGENTMCP_TEST_POSTGRES_URL). Without it, tests skip with
// a clear message on a developer machine and fail in CI, where PostgreSQL is required.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentmcp/agentmcp/internal/pgtest/pgcluster"
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
	return NewDatabaseWith(t, "")
}

// NewDatabaseWith is NewDatabase with options of CREATE DATABASE (e.g. a collation).
func NewDatabaseWith(t testing.TB, options string) string {
	t.Helper()
	admin := URL(t)
	var b [6]byte
	rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := pgcluster.CreateDatabase(ctx, admin, name, options)
	if err != nil {
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
	return u
}

// Cluster is a private PostgreSQL cluster for a test that must stop and start it.
type Cluster struct {
	URL string
	c   *pgcluster.Cluster
}

// StartCluster initialises and starts a cluster of the test's own (removed at cleanup),
// with the binaries that scripts/test-postgres.sh found.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	URL(t) // skip or fail exactly as the shared cluster does
	bin := os.Getenv("AGENTMCP_TEST_PG_BIN")
	if bin == "" {
		t.Fatal("AGENTMCP_TEST_PG_BIN is not set (run under scripts/test-postgres.sh)")
	}
	c, err := pgcluster.Start(pgcluster.Options{Bin: bin, RunAs: os.Getenv("AGENTMCP_TEST_PG_RUNAS"), Settings: []string{"fsync=off"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Remove)
	return &Cluster{URL: c.URL, c: c}
}

// Start starts the cluster (again) on its port.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	if err := c.c.Start(); err != nil {
		t.Fatal(err)
	}
}

// Stop stops the cluster at once, as a crash or an outage would.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if err := c.c.Stop(); err != nil {
		t.Fatal(err)
	}
}
