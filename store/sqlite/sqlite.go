// Package sqlite is the embedded, single-machine store of agentmcp on modernc.org/sqlite
// (pure Go, no cgo). Writes go through one connection, so they never contend inside the
// process; reads use a separate pool of read-only connections that WAL lets run beside it.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/internal/sqlstore"
)

// dialect: one writer, so no row locks; lists travel as JSON arrays.
var dialect = &sqlstore.Dialect{
	Greatest: "MAX",
	AgentColumns: `a.app_id, a.uid, a.name, a.icon, a.is_active, a.description,
	a.tools, a.files, a.websites, a.other_kb_integrations, a.api_tools, a.frontend_actions,
	a.rag_version, a.last_message_at, a.instruction, a.meta_data, a.model, a.model_meta_data,
	a.created_at, a.updated_at, a.mcp_servers, a.gateway`,
	InList:     " IN (SELECT value FROM json_each(?))",
	SlugRows:   "(SELECT value AS slug, key + 1 AS n FROM json_each(?)) AS s",
	List:       func(l []string) any { return sqlstore.JSONText(l) },
	RemoveSlug: "(SELECT json_group_array(value ORDER BY key) FROM json_each(mcp_servers) WHERE value <> ?)",
}

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the schema migrations this build knows.
func Migrations() ([]store.Migration, error) { return store.LoadMigrations(migrationFS, "migrations") }

// Options tune Open.
type Options struct {
	// NoMigrate skips applying migrations (see MigrationStatus); Open still refuses a schema
	// newer than it knows.
	NoMigrate bool
	// ReadConns is the size of the read pool (default: 2 × GOMAXPROCS, at least 4).
	ReadConns int

	busyTimeout time.Duration // how long to wait for another connection's lock (default 10s; tests shorten it)
}

// Store is a store.Store on one SQLite database file.
type Store struct {
	*sqlstore.Store
	path string
	w    *sql.DB // exactly one connection: the single writer
	r    *sql.DB // read-only pool
	wq   *stmts  // prepared statements of w
	rq   *stmts  // prepared statements of r
	wr   *writer // runs every write on w, in batches

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// dsn builds a modernc.org/sqlite DSN. synchronous=NORMAL in WAL mode keeps every committed
// transaction across a process crash; only an OS crash or power loss can lose the last ones.
func dsn(path string, readOnly bool, busy time.Duration) string {
	q := []string{
		"_pragma=busy_timeout(" + strconv.FormatInt(busy.Milliseconds(), 10) + ")",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_pragma=foreign_keys(ON)",
	}
	if readOnly {
		q = append(q, "_pragma=query_only(1)", "_pragma=cache_size("+strconv.Itoa(readCacheKiB)+")")
	} else {
		// Take the write lock at BEGIN, so a transaction never fails half-way to upgrade it.
		// Savepoints' journals (writer.go) stay in memory.
		q = append(q, "_txlock=immediate", "_pragma=temp_store(MEMORY)")
	}
	return "file:" + path + "?" + strings.Join(q, "&")
}

// readCacheKiB is each read connection's page cache (as cache_size takes it: negative, in
// KiB), where SQLite's default is 2,000 KiB for every connection. Readers see few misses
// (the servers, their list pages, agents and keys are cached above the store), the file's
// pages are in the OS's cache anyway, and the pool has at least four connections whose
// caches are outside the Go runtime's memory limit.
const readCacheKiB = -512

// Open opens (creating when needed) the database at path and migrates it.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: database path %q must not contain '?' or '#'", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: create directory for %s: %w", path, err)
		}
	}
	busy := opt.busyTimeout
	if busy <= 0 {
		busy = 10 * time.Second
	}
	w, err := sql.Open("sqlite", dsn(path, false, busy))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{path: path, w: w, wq: &stmts{db: w}}
	if err := s.migrate(ctx, opt.NoMigrate); err != nil {
		w.Close()
		return nil, err
	}

	n := opt.ReadConns
	if n <= 0 {
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	r, err := sql.Open("sqlite", dsn(path, true, busy))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	s.r, s.rq = r, &stmts{db: r}
	s.wr = newWriter(w, s.wq)
	s.Store = sqlstore.New(dialect, s.rq, writeQ{s.wr}, s.inTx, s.inReadTx)
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.rq.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		if !errors.Is(err, store.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	return nil
}

// Close closes both pools (once; later calls return the first's error); a WAL checkpoint
// runs when the last connection closes.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		s.wr.close()
		if s.r != nil {
			s.rq.close()
			errs = append(errs, s.r.Close())
		}
		s.wq.close()
		errs = append(errs, s.w.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
)`

// migrate applies pending migrations in one IMMEDIATE transaction, which holds SQLite's
// write lock: two processes starting at once apply each migration exactly once.
func (s *Store) migrate(ctx context.Context, dryRun bool) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin migration: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, migrationsTable); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	var cur int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&cur); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	pending, err := sqlstore.Pending(ms, cur)
	if err != nil {
		return err
	}
	if dryRun {
		return tx.Commit()
	}
	for _, m := range pending {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("sqlite: migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, sqlstore.RecordMigration, m.Version, m.Name, store.NowMillis()); err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
	}
	return tx.Commit()
}

// MigrationStatus lists every known migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]store.MigrationStatus, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	return sqlstore.MigrationStatus(ctx, s.rq, ms)
}

// inTx runs fn in a write transaction on the single writer connection (see writer.do).
func (s *Store) inTx(ctx context.Context, fn func(q sqlstore.Querier) error) error {
	return s.wr.do(ctx, fn)
}

// inReadTx runs fn in a read transaction on the read pool: one snapshot.
func (s *Store) inReadTx(ctx context.Context, fn func(q sqlstore.Querier) error) error {
	return runTx(ctx, s.r, s.rq, &sql.TxOptions{ReadOnly: true}, fn)
}

func runTx(ctx context.Context, db *sql.DB, p *stmts, opt *sql.TxOptions, fn func(q sqlstore.Querier) error) error {
	tx, err := db.BeginTx(ctx, opt)
	if err != nil {
		return classify(err)
	}
	var pending []string
	defer func() {
		tx.Rollback()
		p.prepareAll(context.WithoutCancel(ctx), pending)
	}()
	if err := fn(txq{tx: tx, p: p, pending: &pending}); err != nil {
		return err
	}
	return classify(tx.Commit())
}

// PoolStats reports both pools together (the writer is one connection).
func (s *Store) PoolStats() store.PoolStats {
	r, w := s.r.Stats(), s.w.Stats()
	return store.PoolStats{Open: r.OpenConnections + w.OpenConnections, InUse: r.InUse + w.InUse, Idle: r.Idle + w.Idle, Max: r.MaxOpenConnections + w.MaxOpenConnections}
}
