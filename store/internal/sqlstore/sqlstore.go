// Package sqlstore is the one copy of what the SQL backends share: the queries, the
// scanners, keyset paging and the create/update/delete flows, written over Querier with ?
// placeholders. Each backend adapts its driver to Querier and Tx, classifies its driver's
// errors, and keeps what is its own: locking, JSON aggregation, arrays, the migration lock
// and anything only one engine can say in one statement (ClaimProbes).
package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/agentmcp/agentmcp/internal/jsonw"
	"github.com/agentmcp/agentmcp/store"
)

// Scanner is one row: *sql.Row, *sql.Rows, pgx.Row, pgx.Rows.
type Scanner interface{ Scan(dest ...any) error }

// Querier runs SQL written with ? placeholders. Errors come back classified (store.ErrUnavailable
// where the database cannot serve); no rows is sql.ErrNoRows (pgx.ErrNoRows wraps it).
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (rowsAffected int64, err error)
	QueryRow(ctx context.Context, sql string, args ...any) Scanner
	// Query calls row for each row of the result.
	Query(ctx context.Context, sql string, args []any, row func(Scanner) error) error
}

// Deferrer is a Querier of a transaction that can hold back a write whose result nobody
// reads, to send it with the next statement or the COMMIT (PostgreSQL: one round trip for
// them all). Its error, if any, is the transaction's.
type Deferrer interface {
	Defer(sql string, args ...any)
}

// QueryDeferrer is a Deferrer that can hold back a query too: fn reads its rows when the
// next statement is sent, in the same round trip.
type QueryDeferrer interface {
	Deferrer
	DeferQuery(sql string, args []any, fn func(Scanner) error)
}

// later runs a write whose result nobody reads: deferred where q can, at once elsewhere.
func later(ctx context.Context, q Querier, sql string, args ...any) error {
	if d, ok := q.(Deferrer); ok {
		d.Defer(sql, args...)
		return nil
	}
	_, err := q.Exec(ctx, sql, args...)
	return err
}

// Tx runs fn in one transaction, committed when fn returns nil.
type Tx func(ctx context.Context, fn func(q Querier) error) error

// Dialect is what differs between the engines in the shared queries.
type Dialect struct {
	// Greatest is the function of the larger of two values (MAX in SQLite, GREATEST in PostgreSQL).
	Greatest string
	// RowLocks is set where writers run at once (PostgreSQL): the flows read the rows they
	// change FOR UPDATE, KEY SHARE lock the servers they attach (server locks before agent
	// locks, so writes never deadlock), and check for a taken key before taking an app's
	// lock. SQLite has one writer, so the flows need none of it.
	RowLocks bool
	// AgentColumns selects an agent (alias a): its JSON columns as text, the last two its
	// attached slugs (agents.mcp_servers, a JSON array in attachment order) and its gateway
	// settings (agents.gateway, a JSON object).
	AgentColumns string
	// RemoveSlug is agents.mcp_servers without the slug of its one parameter, in order.
	RemoveSlug string
	// InList matches the column before it against one list parameter.
	InList string
	// SlugRows is a FROM item that turns one list parameter into rows s(slug, n), n from 1.
	SlugRows string
	// List turns a list into the parameter that InList and SlugRows take.
	List func([]string) any
	// ByteOrder follows a text column to order and compare it by bytes ("" where that is
	// already the default, as SQLite's BINARY).
	ByteOrder string
}

// lock returns clause where the dialect takes row locks.
func (d *Dialect) lock(clause string) string {
	if d.RowLocks {
		return clause
	}
	return ""
}

// Store implements store.Store but for Ping, Close and ClaimProbes, which the backends add.
type Store struct {
	d     *Dialect
	q     queries
	read  Querier // reads outside a transaction
	write Querier // single-statement writes
	tx    Tx      // write transactions
	snap  Tx      // read-only transactions on one snapshot

	agents agentCache
	writes agentWrites
}

// New returns the shared store over a backend's queriers and transactions.
func New(d *Dialect, read, write Querier, tx, snapshot Tx) *Store {
	return &Store{d: d, q: newQueries(d), read: read, write: write, tx: tx, snap: snapshot}
}

// Collect runs a query and scans every row.
func Collect[T any](ctx context.Context, q Querier, query string, args []any, scan func(Scanner) (T, error)) ([]T, error) {
	return appendRows[T](ctx, q, nil, query, args, scan)
}

func appendRows[T any](ctx context.Context, q Querier, out []T, query string, args []any, scan func(Scanner) (T, error)) ([]T, error) {
	err := q.Query(ctx, query, args, func(sc Scanner) error {
		v, err := scan(sc)
		out = append(out, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Rows is what *sql.Rows and pgx.Rows share.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Each calls fn for every row and returns its first error or the rows' error; the caller
// closes rows.
func Each(rows Rows, fn func(Scanner) error) error {
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// JSONText encodes the lists and objects stored as JSON.
func JSONText(v any) string {
	if l, ok := v.([]string); ok {
		return string(jsonw.Strings(make([]byte, 0, jsonw.Size(l)), l))
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only []string and JSON-decoded maps reach here
	}
	return string(b)
}

func nullable(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

// HealthWhere is the condition of a list's health filter, on the probe table aliased p.
func HealthWhere(h string) string {
	switch h {
	case store.HealthOK:
		return " AND p.status = 'ok'"
	case store.HealthFailing:
		return " AND p.status <> 'ok'"
	case store.HealthUnknown:
		return " AND p.status IS NULL"
	}
	return ""
}

// PageSQL completes base, which selects one app's rows (the app id its only parameter), into
// a keyset page on (app_id, <alias>created_at). A prepend page is read oldest first from the
// cursor and must be reversed to be newest first.
func PageSQL(base, alias, appID string, p store.Page) (query string, args []any, reverse bool) {
	col := alias + "created_at"
	switch p.Affix {
	case store.AffixAppend:
		return base + " AND " + col + " < ? ORDER BY " + col + " DESC LIMIT ?", []any{appID, p.CreatedAt, p.Limit}, false
	case store.AffixPrepend:
		return base + " AND " + col + " > ? ORDER BY " + col + " ASC LIMIT ?", []any{appID, p.CreatedAt, p.Limit}, true
	}
	return base + " ORDER BY " + col + " DESC LIMIT ?", []any{appID, p.Limit}, false
}

// ListServersSQL is the query of ListMCPServers (tests EXPLAIN it).
func ListServersSQL(appID string, p store.Page) (string, []any) {
	query, args, _ := serversPage(appID, p)
	return query, args
}

func serversPage(appID string, p store.Page) (string, []any, bool) {
	return PageSQL(serverSelect+" WHERE s.app_id = ?"+HealthWhere(p.Health), "s.", appID, p)
}

func listPage[T any](ctx context.Context, q Querier, query string, args []any, reverse bool, limit int, scan func(Scanner) (T, error)) ([]T, error) {
	out, err := appendRows(ctx, q, make([]T, 0, limit), query, args, scan)
	if reverse {
		slices.Reverse(out)
	}
	return out, err
}

var dollars sync.Map // SQL with ? → SQL with $n

// Dollar rewrites ? placeholders as PostgreSQL's $1, $2, …, outside quoted literals. The set
// of queries is fixed by the code, so the memo is bounded.
func Dollar(q string) string {
	if v, ok := dollars.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'':
			quoted = !quoted
			b.WriteByte(c)
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	dollars.Store(q, out)
	return out
}

// MigrationStatus lists every known migration and whether q's database has applied it.
func MigrationStatus(ctx context.Context, q Querier, known []store.Migration) ([]store.MigrationStatus, error) {
	applied := map[int]int64{}
	err := q.Query(ctx, "SELECT version, applied_at FROM schema_migrations", nil, func(sc Scanner) error {
		var v int
		var at int64
		if err := sc.Scan(&v, &at); err != nil {
			return err
		}
		applied[v] = at
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.MigrationStatus, len(known))
	for i, m := range known {
		at, ok := applied[m.Version]
		out[i] = store.MigrationStatus{Migration: m, Applied: ok, AppliedAt: at}
	}
	return out, nil
}

// Pending returns the migrations of known after the database's version cur, or
// store.SchemaTooNewError when the database is ahead of this build.
func Pending(known []store.Migration, cur int) ([]store.Migration, error) {
	if cur > len(known) {
		return nil, store.SchemaTooNewError{Database: cur, Known: len(known)}
	}
	return known[cur:], nil
}

// RecordMigration is the statement that marks a migration applied.
const RecordMigration = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"

// notFound names a missing record.
func notFound(kind, id string) error { return fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound) }
