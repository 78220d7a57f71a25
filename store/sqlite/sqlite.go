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
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/agentmcp/agentmcp/store"
)

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
}

// Store is a store.Store on one SQLite database file.
type Store struct {
	path string
	w    *sql.DB // exactly one connection: the single writer
	r    *sql.DB // read-only pool
	wq   *stmts  // prepared statements of w
	rq   *stmts  // prepared statements of r
}

var _ store.Store = (*Store)(nil)

// dsn builds a modernc.org/sqlite DSN. synchronous=NORMAL in WAL mode keeps every committed
// transaction across a process crash; only an OS crash or power loss can lose the last ones.
func dsn(path string, readOnly bool) string {
	q := []string{
		"_pragma=busy_timeout(10000)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_pragma=foreign_keys(ON)",
	}
	if readOnly {
		q = append(q, "_pragma=query_only(1)")
	} else {
		// Take the write lock at BEGIN, so a transaction never fails half-way to upgrade it.
		q = append(q, "_txlock=immediate")
	}
	return "file:" + path + "?" + strings.Join(q, "&")
}

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
	w, err := sql.Open("sqlite", dsn(path, false))
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
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	s.r, s.rq = r, &stmts{db: r}
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.rq.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
	}
	return nil
}

// Close closes both pools; a WAL checkpoint runs when the last connection closes.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		s.rq.close()
		errs = append(errs, s.r.Close())
	}
	s.wq.close()
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
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
	if cur > len(ms) {
		return store.SchemaTooNewError{Database: cur, Known: len(ms)}
	}
	if dryRun {
		return tx.Commit()
	}
	for _, m := range ms[cur:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("sqlite: migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.Version, m.Name, store.NowMillis()); err != nil {
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
	applied := map[int]int64{}
	rows, err := s.rq.QueryContext(ctx, "SELECT version, applied_at FROM schema_migrations")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		var at int64
		if err := rows.Scan(&v, &at); err != nil {
			return nil, err
		}
		applied[v] = at
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]store.MigrationStatus, len(ms))
	for i, m := range ms {
		at, ok := applied[m.Version]
		out[i] = store.MigrationStatus{Migration: m, Applied: ok, AppliedAt: at}
	}
	return out, nil
}

// inTx runs fn in a write transaction on the single writer connection.
func (s *Store) inTx(ctx context.Context, fn func(tx querier) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	var pending []string
	defer func() {
		tx.Rollback()
		s.wq.prepareAll(context.WithoutCancel(ctx), pending)
	}()
	if err := fn(txq{tx: tx, p: s.wq, pending: &pending}); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) CreateApp(ctx context.Context, id string) (store.App, error) {
	a := store.App{ID: id, CreatedAt: store.NowMillis()}
	res, err := s.wq.ExecContext(ctx, "INSERT INTO apps (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING", a.ID, a.CreatedAt)
	if err != nil {
		return store.App{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.App{}, fmt.Errorf("app %q: %w", id, store.ErrConflict)
	}
	return a, nil
}

func (s *Store) ListApps(ctx context.Context) ([]store.App, error) {
	rows, err := s.rq.QueryContext(ctx, "SELECT id, created_at FROM apps ORDER BY created_at, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.App
	for rows.Next() {
		var a store.App
		if err := rows.Scan(&a.ID, &a.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	return s.inTx(ctx, func(tx querier) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM apps WHERE id = ?", k.AppID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("app %q: %w", k.AppID, store.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO api_keys ("+keyColumns+") VALUES (?, ?, ?, ?, ?, ?, 0)",
			k.ID, k.AppID, string(k.Scope), k.Hash[:], k.Prefix, k.CreatedAt); err != nil {
			return err
		}
		return audit(ctx, tx, k.AppID, store.AuditKeyCreate, store.KeyTarget(k.ID), nil, k)
	})
}

const keyColumns = "id, app_id, scope, hash, prefix, created_at, revoked_at"

func scanKey(sc interface{ Scan(...any) error }) (store.APIKey, error) {
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

func (s *Store) LookupAPIKey(ctx context.Context, hash [32]byte) (store.APIKey, error) {
	k, err := scanKey(s.rq.QueryRowContext(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE hash = ?", hash[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIKey{}, store.ErrNotFound
	}
	return k, err
}

func (s *Store) ListAPIKeys(ctx context.Context, appID string) ([]store.APIKey, error) {
	q := "SELECT " + keyColumns + " FROM api_keys"
	var args []any
	if appID != "" {
		q += " WHERE app_id = ?"
		args = append(args, appID)
	}
	rows, err := s.rq.QueryContext(ctx, q+" ORDER BY created_at, id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx querier) error {
		k, err := scanKey(tx.QueryRowContext(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("key %q: %w", id, store.ErrNotFound)
		}
		if err != nil || k.RevokedAt != 0 {
			return err
		}
		after := k
		after.RevokedAt = store.NowMillis()
		if _, err := tx.ExecContext(ctx, "UPDATE api_keys SET revoked_at = ? WHERE id = ?", after.RevokedAt, id); err != nil {
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

func scanServer(sc interface{ Scan(...any) error }) (store.MCPServer, error) {
	var m store.MCPServer
	var status sql.NullString
	var checked, tools sql.NullInt64
	err := sc.Scan(&m.AppID, &m.Slug, &m.Name, &m.Description, &m.URL, &m.Icon, &m.CreatedAt, &m.UpdatedAt, &status, &checked, &tools)
	if status.Valid {
		m.Health = &store.Health{Status: status.String, CheckedAt: checked.Int64, ToolCount: int(tools.Int64)}
	}
	return m, err
}

// tick hands out the app's next createdAt: max(now, clock + 1).
func tick(ctx context.Context, tx querier, appID string) (int64, error) {
	var t int64
	err := tx.QueryRowContext(ctx, "UPDATE apps SET clock = MAX(clock + 1, ?) WHERE id = ? RETURNING clock",
		store.NowMillis(), appID).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("app %q: %w", appID, store.ErrNotFound)
	}
	return t, err
}

func (s *Store) CreateMCPServer(ctx context.Context, appID string, in store.NewMCPServer) (store.MCPServer, error) {
	m := store.MCPServer{AppID: appID, Slug: in.Slug, Name: in.Name, Description: in.Description, URL: in.URL, Icon: in.Icon}
	err := s.inTx(ctx, func(tx querier) error {
		var t int64
		err := tx.QueryRowContext(ctx, `UPDATE apps SET clock = MAX(clock + 1, ?), servers = servers + 1
			WHERE id = ? AND (? <= 0 OR servers < ?) RETURNING clock`, store.NowMillis(), appID, in.Limit, in.Limit).Scan(&t)
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := tick(ctx, tx, appID); err != nil {
				return err // no such app
			}
			return fmt.Errorf("app %q has %d MCP servers: %w", appID, in.Limit, store.ErrLimitReached)
		}
		if err != nil {
			return err
		}
		m.CreatedAt, m.UpdatedAt = t, t
		res, err := tx.ExecContext(ctx, "INSERT INTO mcp_servers ("+serverColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, slug) DO NOTHING",
			m.AppID, m.Slug, m.Name, m.Description, m.URL, m.Icon, m.CreatedAt, m.UpdatedAt)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
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
	m, err := scanServer(s.rq.QueryRowContext(ctx, serverSelect+" WHERE s.app_id = ? AND s.slug = ?", appID, slug))
	if errors.Is(err, sql.ErrNoRows) {
		return store.MCPServer{}, fmt.Errorf("mcp server %q: %w", slug, store.ErrNotFound)
	}
	return m, err
}

func (s *Store) UpdateMCPServer(ctx context.Context, appID, slug string, p store.MCPServerPatch, pre store.Precondition) (before, after store.MCPServer, err error) {
	err = s.inTx(ctx, func(tx querier) error {
		cur, err := scanServer(tx.QueryRowContext(ctx, serverSelect+" WHERE s.app_id = ? AND s.slug = ?", appID, slug))
		if errors.Is(err, sql.ErrNoRows) {
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
		if _, err := tx.ExecContext(ctx, "UPDATE mcp_servers SET name = ?, description = ?, url = ?, icon = ?, updated_at = ? WHERE app_id = ? AND slug = ?",
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
	return s.inTx(ctx, func(tx querier) error {
		cur, err := scanServer(tx.QueryRowContext(ctx, serverSelect+" WHERE s.app_id = ? AND s.slug = ?", appID, slug))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mcp server %q: %w", slug, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := pre.Check(store.ServerVersion(cur)); err != nil {
			return err
		}
		// The foreign key removes the attachments; the agents that had one change.
		if _, err := tx.ExecContext(ctx, `UPDATE agents SET updated_at = MAX(?, updated_at + 1)
			WHERE app_id = ? AND uid IN (SELECT agent_uid FROM agent_mcp_servers WHERE app_id = ? AND slug = ?)`,
			store.NowMillis(), appID, appID, slug); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM mcp_servers WHERE app_id = ? AND slug = ?", appID, slug)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("mcp server %q: %w", slug, store.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE apps SET servers = servers - 1 WHERE id = ?", appID); err != nil {
			return err
		}
		return audit(ctx, tx, appID, store.AuditServerDelete, store.ServerTarget(slug), cur, nil)
	})
}

func (s *Store) ListMCPServers(ctx context.Context, appID string, p store.Page) ([]store.MCPServer, error) {
	return listPage(ctx, s.rq, serverSelect+" WHERE s.app_id = ?"+store.HealthWhere(p.Health), "s.", appID, p, scanServer)
}

// listPage runs a keyset page query (base selects one app's rows) and returns the rows
// newest first.
func listPage[T any](ctx context.Context, q querier, base, alias, appID string, p store.Page, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	where, order, args, reverse := keyset(p, alias)
	rows, err := q.QueryContext(ctx, base+where+order+" LIMIT ?", append(append([]any{appID}, args...), p.Limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]T, 0, p.Limit)
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if reverse {
		reverseSlice(out)
	}
	return out, nil
}

// keyset returns the WHERE and ORDER BY of a page on (app_id, created_at). A prepend page
// is read oldest first from the cursor and must be reversed to be newest first.
func keyset(p store.Page, alias string) (where, order string, args []any, reverse bool) {
	switch p.Affix {
	case store.AffixAppend:
		return " AND " + alias + "created_at < ?", " ORDER BY " + alias + "created_at DESC", []any{p.CreatedAt}, false
	case store.AffixPrepend:
		return " AND " + alias + "created_at > ?", " ORDER BY " + alias + "created_at ASC", []any{p.CreatedAt}, true
	}
	return "", " ORDER BY " + alias + "created_at DESC", nil, false
}

func reverseSlice[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// PoolStats reports both pools together (the writer is one connection).
func (s *Store) PoolStats() store.PoolStats {
	r, w := s.r.Stats(), s.w.Stats()
	return store.PoolStats{Open: r.OpenConnections + w.OpenConnections, InUse: r.InUse + w.InUse, Idle: r.Idle + w.Idle, Max: r.MaxOpenConnections + w.MaxOpenConnections}
}
