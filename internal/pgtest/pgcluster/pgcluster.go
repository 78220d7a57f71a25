// Package pgcluster starts a throwaway local PostgreSQL cluster: initdb in a temporary
// directory, pg_ctl on a free loopback port, as the `postgres` user (via runuser) when we are
// root, and Remove stops it and deletes everything. Tests use it through pgtest; the
// benchmark uses it directly (it must not depend on package testing).
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// FindBin returns the directory of initdb and pg_ctl, searched as scripts/test-postgres.sh
// does: $AGENTMCP_TEST_PG_BIN, then the newest /usr/lib/postgresql/*/bin, then $PATH.
func FindBin() (string, error) {
	if d := os.Getenv("AGENTMCP_TEST_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("AGENTMCP_TEST_PG_BIN: %w", err)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return majorOf(a) - majorOf(b) })
	for _, d := range slices.Backward(dirs) {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL server binaries (initdb) not found; install Debian's postgresql package")
}

// majorOf is the version in /usr/lib/postgresql/<major>/bin (so 15 sorts after 9).
func majorOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// RunAs is the user to run PostgreSQL as: "" unless we are root (PostgreSQL refuses root),
// then `postgres`, created as a system user when missing, as scripts/test-postgres.sh does.
func RunAs() (string, error) {
	if os.Getuid() != 0 {
		return "", nil
	}
	if _, err := user.Lookup("postgres"); err != nil {
		if out, err := exec.Command("useradd", "--system", "--home-dir", "/var/lib/postgresql", "postgres").CombinedOutput(); err != nil {
			return "", fmt.Errorf("useradd postgres: %v: %s", err, out)
		}
	}
	return "postgres", nil
}

// Options says how to initialise and run the cluster.
type Options struct {
	Bin      string   // directory of initdb/pg_ctl (FindBin)
	RunAs    string   // user to run them as ("" = ourselves)
	InitArgs []string // extra initdb arguments, e.g. -E UTF8
	Settings []string // extra server settings, each "name=value" (e.g. fsync=off for tests)
}

// Cluster is a running (or stopped) throwaway cluster.
type Cluster struct {
	URL  string // superuser URL of database postgres
	Dir  string // everything lives under it; Remove deletes it
	Port int
	opts Options
}

// Start initialises a cluster in a new temporary directory and starts it. On error nothing
// is left behind.
func Start(o Options) (_ *Cluster, err error) {
	dir, err := os.MkdirTemp("", "agentmcp-pgtest")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, opts: o}
	defer func() {
		if err != nil {
			c.Remove()
		}
	}()
	if err := os.Chmod(dir, 0o777); err != nil {
		return nil, err
	}
	// --no-sync: only initdb's own files are not flushed; the server's durability is Settings'.
	args := append([]string{"-D", c.Dir + "/data", "-U", "postgres", "-A", "trust", "--no-sync"}, o.InitArgs...)
	if out, err := c.run(filepath.Join(o.Bin, "initdb"), args...); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c.Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", c.Port)
	return c, c.Start()
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	if c.opts.RunAs != "" {
		args = append([]string{"-u", c.opts.RunAs, "--", name}, args...)
		name = "runuser"
	}
	return exec.Command(name, args...).CombinedOutput()
}

func (c *Cluster) pgctl(args ...string) ([]byte, error) {
	return c.run(filepath.Join(c.opts.Bin, "pg_ctl"), append([]string{"-D", c.Dir + "/data", "-w", "-t", "30"}, args...)...)
}

// Start starts the cluster (again) on its port.
func (c *Cluster) Start() error {
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s", c.Port, c.Dir)
	for _, s := range c.opts.Settings {
		opts += " -c " + s
	}
	if out, err := c.pgctl("-l", c.Dir+"/server.log", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(c.Dir + "/server.log")
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, strings.TrimSpace(string(log)))
	}
	return nil
}

// Stop stops the cluster at once, as a crash or an outage would.
func (c *Cluster) Stop() error {
	if out, err := c.pgctl("-m", "immediate", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}

// Remove stops the cluster (when running) and deletes its directory.
func (c *Cluster) Remove() {
	c.Stop() // an error is a cluster that is not running
	os.RemoveAll(c.Dir)
}

// CreateDatabase creates database name (a plain identifier) with options of CREATE DATABASE
// through the admin URL and returns the URL of the new database.
func CreateDatabase(ctx context.Context, admin, name, options string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connecting to the cluster: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" "+options); err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}
