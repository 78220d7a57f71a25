// Package postgres is the store of agentmcp for more than one machine: any number of
// stateless replicas on one PostgreSQL, through pgx's pool.
//
// Concurrency rules, so that no update is lost and no attachment dangles across replicas:
// creates take the app row's lock (the per-app clock); writes to an agent take the agent
// row's lock; an attach first takes KEY SHARE locks on the servers it attaches, and a server
// delete takes the server row's lock first. Every transaction takes server locks before
// agent locks, so these never deadlock each other; serialization failures are retried.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/internal/sqlstore"
)

// dialect: concurrent writers, so row locks; lists travel as text[].
var dialect = &sqlstore.Dialect{
	Greatest: "GREATEST",
	RowLocks: true,
	AgentColumns: `a.app_id, a.uid, a.name, a.icon, a.is_active, a.description,
	a.tools::text, a.files::text, a.websites::text, a.other_kb_integrations::text, a.api_tools::text, a.frontend_actions::text,
	a.rag_version, a.last_message_at, a.instruction, a.meta_data::text, a.model, a.model_meta_data::text,
	a.created_at, a.updated_at, a.mcp_servers::text, a.gateway::text`,
	InList:     " = ANY(?::text[])",
	SlugRows:   "unnest(?::text[]) WITH ORDINALITY AS s(slug, n)",
	List:       func(l []string) any { return l },
	RemoveSlug: "mcp_servers - ?::text",
	ByteOrder:  ` COLLATE "C"`,
}

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the schema migrations this build knows.
func Migrations() ([]store.Migration, error) { return store.LoadMigrations(migrationFS, "migrations") }

// IsURL reports whether db names a PostgreSQL database rather than a SQLite file.
func IsURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Options tune Open.
type Options struct {
	// MaxConns is the pool size (default: pgx's, max(4, NumCPU)).
	MaxConns int32
	// StatementTimeout bounds every statement on the server (default 10s).
	StatementTimeout time.Duration
	// NoMigrate skips applying migrations; Open still refuses a schema newer than it knows.
	NoMigrate bool
}

// Store is a store.Store on PostgreSQL.
type Store struct {
	*sqlstore.Store
	pool     *pgxpool.Pool
	desc     string
	origin   string        // this process among the replicas (feed.go)
	feedPing time.Duration // how long Listen waits quietly before it pings
	creates  createQueues  // creates waiting for their app's batch (create.go)
}

var _ store.Store = (*Store)(nil)

// PoolApplicationName is the application_name of the pool's connections, followed by "/"
// and the process id (which replica's, for operators).
const PoolApplicationName = "agentmcp"

// Open connects to url and migrates the database (under an advisory lock, so replicas
// starting together migrate once).
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	timeout := opt.StatementTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(timeout.Milliseconds(), 10)
	cfg.ConnConfig.RuntimeParams["application_name"] = PoolApplicationName + "/" + strconv.Itoa(os.Getpid())
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, origin: newOrigin(), feedPing: 15 * time.Second, desc: fmt.Sprintf("postgres://%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)}
	s.Store = sqlstore.New(dialect, pgq{pool}, pgq{pool}, s.inTx, s.inSnapshot)
	if err := s.migrate(ctx, opt.NoMigrate); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Path describes the database without credentials, for logs.
func (s *Store) Path() string { return s.desc }

// PoolStats reports the pool, for metrics.
func (s *Store) PoolStats() store.PoolStats {
	st := s.pool.Stat()
	return store.PoolStats{Open: int(st.TotalConns()), InUse: int(st.AcquiredConns()), Idle: int(st.IdleConns()), Max: int(st.MaxConns())}
}

// Pool exposes the pool, for tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func (s *Store) Ping(ctx context.Context) error {
	if err := classify(s.pool.Ping(ctx)); err != nil {
		if !errors.Is(err, store.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	return nil
}

func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// inTx runs fn in a transaction, retrying serialization failures and deadlocks.
func (s *Store) inTx(ctx context.Context, fn func(q sqlstore.Querier) error) error {
	for attempt := 1; ; attempt++ {
		err := s.inPipeTx(ctx, fn)
		if attempt < 5 && retryable(err) {
			continue
		}
		return classify(err)
	}
}

// inSnapshot runs fn in a read-only REPEATABLE READ transaction: one snapshot.
func (s *Store) inSnapshot(ctx context.Context, fn func(q sqlstore.Querier) error) error {
	return classify(pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(pgq{tx}) }))
}

// migrationLock is the advisory lock key held while migrating ("agentmcp" in ASCII).
const migrationLock = 0x6167656e746d6370

func (s *Store) migrate(ctx context.Context, dryRun bool) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", classify(err))
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
		return fmt.Errorf("postgres: migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLock))
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL)`); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	var cur int
	if err := conn.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&cur); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	pending, err := sqlstore.Pending(ms, cur)
	if err != nil || dryRun {
		return err
	}
	for _, m := range pending {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, sqlstore.Dollar(sqlstore.RecordMigration), m.Version, m.Name, store.NowMillis())
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// MigrationStatus lists every known migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]store.MigrationStatus, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	return sqlstore.MigrationStatus(ctx, pgq{s.pool}, ms)
}
