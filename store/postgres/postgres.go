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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agentmcp/agentmcp/store"
)

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
	// MaxConns is the pool size (default: pgx's, max(4, GOMAXPROCS)).
	MaxConns int32
	// StatementTimeout bounds every statement on the server (default 10s).
	StatementTimeout time.Duration
	// NoMigrate skips applying migrations; Open still refuses a schema newer than it knows.
	NoMigrate bool
}

// Store is a store.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	desc string
}

var _ store.Store = (*Store)(nil)

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
	cfg.ConnConfig.RuntimeParams["application_name"] = "agentmcp"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, desc: fmt.Sprintf("postgres://%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)}
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
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
	}
	return nil
}

func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// unavailable reports errors that mean the database cannot be reached or is shutting down,
// as opposed to errors about the request.
func unavailable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &pe):
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" ||
			pe.Code == "53300" || pe.Code == "57014" // connection exceptions, shutdown, too many connections, statement timeout
	case strings.Contains(err.Error(), "closed pool"), strings.Contains(err.Error(), "conn closed"):
		return true
	}
	return pgconn.SafeToRetry(err)
}

// wrap marks unavailability with store.ErrUnavailable and passes everything else through.
func wrap(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
	}
	return err
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// inTx runs fn in a transaction, retrying serialization failures and deadlocks.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if attempt < 5 && retryable(err) {
			continue
		}
		return wrap(err)
	}
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
		return fmt.Errorf("postgres: connect: %w", wrap(err))
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
	if cur > len(ms) {
		return store.SchemaTooNewError{Database: cur, Known: len(ms)}
	}
	if dryRun {
		return nil
	}
	for _, m := range ms[cur:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", m.Version, m.Name, store.NowMillis())
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
	rows, err := s.pool.Query(ctx, "SELECT version, applied_at FROM schema_migrations")
	if err != nil {
		return nil, wrap(err)
	}
	applied := map[int]int64{}
	var v int
	var at int64
	if _, err := pgx.ForEachRow(rows, []any{&v, &at}, func() error { applied[v] = at; return nil }); err != nil {
		return nil, wrap(err)
	}
	out := make([]store.MigrationStatus, len(ms))
	for i, m := range ms {
		at, ok := applied[m.Version]
		out[i] = store.MigrationStatus{Migration: m, Applied: ok, AppliedAt: at}
	}
	return out, nil
}

// querier is what the pool and a transaction share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type scanner interface{ Scan(...any) error }

func (s *Store) CreateApp(ctx context.Context, id string) (store.App, error) {
	a := store.App{ID: id, CreatedAt: store.NowMillis()}
	tag, err := s.pool.Exec(ctx, "INSERT INTO apps (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", a.ID, a.CreatedAt)
	if err != nil {
		return store.App{}, wrap(err)
	}
	if tag.RowsAffected() == 0 {
		return store.App{}, fmt.Errorf("app %q: %w", id, store.ErrConflict)
	}
	return a, nil
}

func (s *Store) ListApps(ctx context.Context) ([]store.App, error) {
	return collect(ctx, s.pool, "SELECT id, created_at FROM apps ORDER BY created_at, id", nil, func(sc scanner) (store.App, error) {
		var a store.App
		return a, sc.Scan(&a.ID, &a.CreatedAt)
	})
}

// collect runs a query and scans every row.
func collect[T any](ctx context.Context, q querier, sql string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, wrap(err)
		}
		out = append(out, v)
	}
	return out, wrap(rows.Err())
}

const keyColumns = "id, app_id, scope, hash, prefix, created_at, revoked_at"

func scanKey(sc scanner) (store.APIKey, error) {
	var k store.APIKey
	var scope string
	var hash []byte
	if err := sc.Scan(&k.ID, &k.AppID, &scope, &hash, &k.Prefix, &k.CreatedAt, &k.RevokedAt); err != nil {
		return store.APIKey{}, err
	}
	k.Scope = store.Scope(scope)
	copy(k.Hash[:], hash)
	return k, nil
}

func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO api_keys (`+keyColumns+`)
			SELECT $1, id, $3, $4, $5, $6, 0 FROM apps WHERE id = $2`,
			k.ID, k.AppID, string(k.Scope), k.Hash[:], k.Prefix, k.CreatedAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("app %q: %w", k.AppID, store.ErrNotFound)
		}
		return audit(ctx, tx, k.AppID, store.AuditKeyCreate, store.KeyTarget(k.ID), nil, k)
	})
}

func (s *Store) LookupAPIKey(ctx context.Context, hash [32]byte) (store.APIKey, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE hash = $1", hash[:]))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.APIKey{}, store.ErrNotFound
	}
	return k, wrap(err)
}

func (s *Store) ListAPIKeys(ctx context.Context, appID string) ([]store.APIKey, error) {
	q := "SELECT " + keyColumns + " FROM api_keys"
	var args []any
	if appID != "" {
		q += " WHERE app_id = $1"
		args = append(args, appID)
	}
	return collect(ctx, s.pool, q+" ORDER BY created_at, id", args, scanKey)
}

func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		k, err := scanKey(tx.QueryRow(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE id = $1 FOR UPDATE", id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("key %q: %w", id, store.ErrNotFound)
		}
		if err != nil || k.RevokedAt != 0 {
			return err
		}
		after := k
		after.RevokedAt = store.NowMillis()
		if _, err := tx.Exec(ctx, "UPDATE api_keys SET revoked_at = $1 WHERE id = $2", after.RevokedAt, id); err != nil {
			return err
		}
		return audit(ctx, tx, k.AppID, store.AuditKeyRevoke, store.KeyTarget(id), k, after)
	})
}

const serverColumns = "app_id, slug, name, description, url, icon, created_at, updated_at"

// serverSelect reads servers (alias s) with the health of their last probe (alias p).
const serverSelect = `SELECT s.app_id, s.slug, s.name, s.description, s.url, s.icon, s.created_at, s.updated_at,
	p.status, p.checked_at, p.tool_count
	FROM mcp_servers s LEFT JOIN mcp_server_probes p ON p.app_id = s.app_id AND p.slug = s.slug`

func scanServer(sc scanner) (store.MCPServer, error) {
	var m store.MCPServer
	var status *string
	var checked *int64
	var tools *int32
	err := sc.Scan(&m.AppID, &m.Slug, &m.Name, &m.Description, &m.URL, &m.Icon, &m.CreatedAt, &m.UpdatedAt, &status, &checked, &tools)
	if status != nil {
		m.Health = &store.Health{Status: *status}
		if checked != nil {
			m.Health.CheckedAt = *checked
		}
		if tools != nil {
			m.Health.ToolCount = int(*tools)
		}
	}
	return m, err
}

// tick hands out the app's next createdAt under the app row's lock.
func tick(ctx context.Context, tx pgx.Tx, appID string) (int64, error) {
	var t int64
	err := tx.QueryRow(ctx, "UPDATE apps SET clock = GREATEST(clock + 1, $1) WHERE id = $2 RETURNING clock", store.NowMillis(), appID).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("app %q: %w", appID, store.ErrNotFound)
	}
	return t, err
}

func (s *Store) CreateMCPServer(ctx context.Context, appID string, in store.NewMCPServer) (store.MCPServer, error) {
	m := store.MCPServer{AppID: appID, Slug: in.Slug, Name: in.Name, Description: in.Description, URL: in.URL, Icon: in.Icon}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// A taken slug is refused before the clock moves, so a conflict costs no app lock.
		var taken bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM mcp_servers WHERE app_id = $1 AND slug = $2)", appID, in.Slug).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("mcp server %q: %w", in.Slug, store.ErrConflict)
		}
		var t int64
		err := tx.QueryRow(ctx, `UPDATE apps SET clock = GREATEST(clock + 1, $1), servers = servers + 1
			WHERE id = $2 AND ($3 <= 0 OR servers < $3) RETURNING clock`, store.NowMillis(), appID, in.Limit).Scan(&t)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := tick(ctx, tx, appID); err != nil {
				return err // no such app
			}
			return fmt.Errorf("app %q has %d MCP servers: %w", appID, in.Limit, store.ErrLimitReached)
		}
		if err != nil {
			return err
		}
		m.CreatedAt, m.UpdatedAt = t, t
		tag, err := tx.Exec(ctx, "INSERT INTO mcp_servers ("+serverColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (app_id, slug) DO NOTHING",
			m.AppID, m.Slug, m.Name, m.Description, m.URL, m.Icon, m.CreatedAt, m.UpdatedAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("mcp server %q: %w", in.Slug, store.ErrConflict)
		}
		return audit(ctx, tx, appID, store.AuditServerCreate, store.ServerTarget(in.Slug), nil, m)
	})
	if err != nil {
		return store.MCPServer{}, err
	}
	return m, nil
}

func (s *Store) GetMCPServer(ctx context.Context, appID, slug string) (store.MCPServer, error) {
	m, err := scanServer(s.pool.QueryRow(ctx, serverSelect+" WHERE s.app_id = $1 AND s.slug = $2", appID, slug))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.MCPServer{}, fmt.Errorf("mcp server %q: %w", slug, store.ErrNotFound)
	}
	return m, wrap(err)
}

func (s *Store) UpdateMCPServer(ctx context.Context, appID, slug string, p store.MCPServerPatch, pre store.Precondition) (before, after store.MCPServer, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := scanServer(tx.QueryRow(ctx, serverSelect+" WHERE s.app_id = $1 AND s.slug = $2 FOR UPDATE OF s", appID, slug))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("mcp server %q: %w", slug, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := pre.Check(store.ServerVersion(cur)); err != nil {
			return err
		}
		next, changed := p.Apply(cur)
		before, after = cur, cur
		if !changed {
			return nil
		}
		next.UpdatedAt = max(store.NowMillis(), cur.UpdatedAt+1)
		if _, err := tx.Exec(ctx, "UPDATE mcp_servers SET name = $1, description = $2, url = $3, icon = $4, updated_at = $5 WHERE app_id = $6 AND slug = $7",
			next.Name, next.Description, next.URL, next.Icon, next.UpdatedAt, appID, slug); err != nil {
			return err
		}
		after = next
		return audit(ctx, tx, appID, store.AuditServerUpdate, store.ServerTarget(slug), cur, next)
	})
	if err != nil {
		return store.MCPServer{}, store.MCPServer{}, err
	}
	return before, after, nil
}

func (s *Store) DeleteMCPServer(ctx context.Context, appID, slug string, pre store.Precondition) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the server first: an attach holding KEY SHARE on it finishes before we look
		// for the agents that have it, and a later attach waits and then finds it gone.
		cur, err := scanServer(tx.QueryRow(ctx, serverSelect+" WHERE s.app_id = $1 AND s.slug = $2 FOR UPDATE OF s", appID, slug))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("mcp server %q: %w", slug, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := pre.Check(store.ServerVersion(cur)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE agents SET updated_at = GREATEST($1, updated_at + 1)
			WHERE app_id = $2 AND uid IN (SELECT agent_uid FROM agent_mcp_servers WHERE app_id = $2 AND slug = $3)`,
			store.NowMillis(), appID, slug); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM mcp_servers WHERE app_id = $1 AND slug = $2", appID, slug); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE apps SET servers = servers - 1 WHERE id = $1", appID); err != nil {
			return err
		}
		return audit(ctx, tx, appID, store.AuditServerDelete, store.ServerTarget(slug), cur, nil)
	})
}

func (s *Store) ListMCPServers(ctx context.Context, appID string, p store.Page) ([]store.MCPServer, error) {
	return listPage(ctx, s.pool, serverSelect+" WHERE s.app_id = $1"+store.HealthWhere(p.Health), "s.", appID, p, scanServer)
}

// listPage runs a keyset page query on (app_id, created_at) and returns rows newest first.
func listPage[T any](ctx context.Context, q querier, base, alias, appID string, p store.Page, scan func(scanner) (T, error)) ([]T, error) {
	sql, args, reverse := pageSQL(base, alias, appID, p)
	out, err := collect(ctx, q, sql, args, scan)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []T{}
	}
	if reverse {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// pageSQL completes base (which selects one app's rows, app id as $1) into a keyset page.
// A prepend page is read oldest first from the cursor and must be reversed.
func pageSQL(base, alias, appID string, p store.Page) (sql string, args []any, reverse bool) {
	col := alias + "created_at"
	switch p.Affix {
	case store.AffixAppend:
		return base + " AND " + col + " < $2 ORDER BY " + col + " DESC LIMIT $3", []any{appID, p.CreatedAt, p.Limit}, false
	case store.AffixPrepend:
		return base + " AND " + col + " > $2 ORDER BY " + col + " ASC LIMIT $3", []any{appID, p.CreatedAt, p.Limit}, true
	}
	return base + " ORDER BY " + col + " DESC LIMIT $2", []any{appID, p.Limit}, false
}

// jsonText encodes the lists and objects stored as JSONB.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only []string and JSON-decoded maps reach here
	}
	return string(b)
}
