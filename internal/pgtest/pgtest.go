// Package pgtest gives tests real PostgreSQL databases from the cluster that
// scripts/test-postgres.sh starts (AGENTMCP_TEST_POSTGRES_URL). Without it, tests skip with
// a clear message on a developer machine and fail in CI, where PostgreSQL is required.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
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
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connecting to the test cluster: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" "+options); err != nil {
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

// Cluster is a private PostgreSQL cluster for a test that must stop and start it.
type Cluster struct {
	URL      string
	bin, dir string
	runAs    string
	port     int
}

// StartCluster initialises and starts a cluster of the test's own (stopped at cleanup),
// with the binaries that scripts/test-postgres.sh found.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	URL(t) // skip or fail exactly as the shared cluster does
	bin := os.Getenv("AGENTMCP_TEST_PG_BIN")
	if bin == "" {
		t.Fatal("AGENTMCP_TEST_PG_BIN is not set (run under scripts/test-postgres.sh)")
	}
	c := &Cluster{bin: bin, runAs: os.Getenv("AGENTMCP_TEST_PG_RUNAS")}
	dir, err := os.MkdirTemp("", "agentmcp-pgtest")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.pgctl("-m", "immediate", "stop")
		os.RemoveAll(dir)
	})
	if out, err := c.run(filepath.Join(bin, "initdb"), "-D", c.dir+"/data", "-U", "postgres", "-A", "trust", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", c.port)
	c.Start(t)
	return c
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	if c.runAs != "" {
		args = append([]string{"-u", c.runAs, "--", name}, args...)
		name = "runuser"
	}
	return exec.Command(name, args...).CombinedOutput()
}

func (c *Cluster) pgctl(args ...string) ([]byte, error) {
	return c.run(filepath.Join(c.bin, "pg_ctl"), append([]string{"-D", c.dir + "/data", "-w", "-t", "30"}, args...)...)
}

// Start starts the cluster (again) on its port.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s -c fsync=off", c.port, c.dir)
	if out, err := c.pgctl("-l", c.dir+"/server.log", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(c.dir + "/server.log")
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the cluster at once, as a crash or an outage would.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if out, err := c.pgctl("-m", "immediate", "stop"); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}
