package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/internal/sqlstore"
)

// Creates of one app are serialised by the app row's lock (its clock and server count),
// and a commit holds it until its WAL flush: so one app's creates/s is bounded by flushes/s
// (about 600–1,900 on this project's machines), however many clients create. The lock stays:
// it keeps createdAt in commit order, which keyset pages need to never skip a server. What
// goes instead is one flush per create: a replica's concurrent creates in one app go to the
// database together (group commit, done here because the database cannot group commits that
// wait for each other's lock), as one statement committed on its own, which holds the lock
// for one round trip. A batch that cannot go through whole (a taken slug, the app's limit,
// no such app) is redone one create at a time, so each gets exactly its own answer.

// maxCreateBatch bounds a batch (and the statement's arrays).
const maxCreateBatch = 128

type createReq struct {
	ctx   context.Context
	appID string
	in    store.NewMCPServer
	after string // the audit JSON as a format string (see auditFormat)
	ok    bool   // after could be made; else the shared flow creates it
	taken bool   // a batch holds it: it will be answered
	done  chan struct{}
	m     store.MCPServer
	err   error
}

type createQueues struct {
	mu      sync.Mutex
	m       map[string][]*createReq // app → waiting; present while a drain runs for the app
	batched atomic.Int64            // creates that went in a batch of more than one (for tests)
}

// CreateMCPServer waits for the app's batch in flight, if any, and goes in the next.
func (s *Store) CreateMCPServer(ctx context.Context, appID string, in store.NewMCPServer) (store.MCPServer, error) {
	r := &createReq{ctx: ctx, appID: appID, in: in, done: make(chan struct{})}
	q := &s.creates
	q.mu.Lock()
	waiting, running := q.m[appID]
	if q.m == nil {
		q.m = map[string][]*createReq{}
	}
	q.m[appID] = append(waiting, r)
	q.mu.Unlock()
	if !running {
		go s.drainCreates(appID)
	}
	select {
	case <-r.done:
		return r.m, r.err
	case <-ctx.Done():
	}
	q.mu.Lock()
	if !r.taken {
		l := q.m[appID]
		for i, x := range l {
			if x == r {
				q.m[appID] = append(l[:i:i], l[i+1:]...)
				break
			}
		}
		q.mu.Unlock()
		return store.MCPServer{}, classify(ctx.Err())
	}
	q.mu.Unlock()
	<-r.done // in a statement already: its outcome is the answer
	return r.m, r.err
}

// drainCreates sends the app's waiting creates, a batch at a time, until none wait.
func (s *Store) drainCreates(appID string) {
	q := &s.creates
	for {
		q.mu.Lock()
		l := q.m[appID]
		if len(l) == 0 {
			delete(q.m, appID)
			q.mu.Unlock()
			return
		}
		n := min(len(l), maxCreateBatch)
		batch := l[:n:n]
		q.m[appID] = l[n:]
		for _, r := range batch {
			r.taken = true
		}
		q.mu.Unlock()
		s.createBatch(batch)
		for _, r := range batch {
			close(r.done)
		}
	}
}

func (s *Store) createBatch(batch []*createReq) {
	same := true
	for _, r := range batch {
		r.after, r.ok = auditFormat(r.appID, r.in)
		same = same && r.ok && r.in.Limit == batch[0].in.Limit
	}
	if len(batch) > 1 && same {
		// Not bounded by any one request's context: it answers them all.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), 30*time.Second)
		defer cancel()
		if got, err := s.insertServers(ctx, batch); err == nil && len(got) == len(batch) {
			for _, r := range batch {
				r.m, _ = sqlstore.NewServer(r.appID, r.in)
				r.m.CreatedAt, r.m.UpdatedAt = got[r.in.Slug], got[r.in.Slug]
			}
			s.creates.batched.Add(int64(len(batch)))
			return
		} // else nothing was written (a taken slug, the limit, no app): one by one
	}
	for _, r := range batch {
		r.m, r.err = s.createOne(r)
	}
}

// createOne is one create in one statement committed on its own, with its own answer.
func (s *Store) createOne(r *createReq) (store.MCPServer, error) {
	if !r.ok {
		return s.Store.CreateMCPServer(r.ctx, r.appID, r.in)
	}
	got, err := s.insertServers(r.ctx, []*createReq{r})
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" && pe.TableName == "mcp_servers" {
			return store.MCPServer{}, fmt.Errorf("mcp server %q: %w", r.in.Slug, store.ErrConflict)
		}
		return store.MCPServer{}, classify(err)
	}
	t, ok := got[r.in.Slug]
	if !ok { // no such app, or it is full: nothing was written
		var found bool
		if err := s.pool.QueryRow(r.ctx, "SELECT EXISTS (SELECT 1 FROM apps WHERE id = $1)", r.appID).Scan(&found); err != nil {
			return store.MCPServer{}, classify(err)
		}
		if !found {
			return store.MCPServer{}, fmt.Errorf("app %q: %w", r.appID, store.ErrNotFound)
		}
		return store.MCPServer{}, fmt.Errorf("app %q has %d MCP servers: %w", r.appID, r.in.Limit, store.ErrLimitReached)
	}
	m, _ := sqlstore.NewServer(r.appID, r.in)
	m.CreatedAt, m.UpdatedAt = t, t
	return m, nil
}

// insertServers creates the batch's servers (one app, one limit, each with its after) in
// one statement, all or none, and returns each one's createdAt by slug.
func (s *Store) insertServers(ctx context.Context, batch []*createReq) (map[string]int64, error) {
	n := len(batch)
	cols := make([][]string, 12)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	sealed := make([][]byte, n)
	for i, r := range batch {
		m, sd := sqlstore.NewServer(r.appID, r.in)
		a := store.ActorFrom(r.ctx)
		for j, v := range []string{m.Slug, m.Name, m.Description, m.URL, m.Icon, m.Auth.Type, m.Auth.Headers, sd.KeyID, a.KeyID, a.RequestID, store.ServerTarget(m.Slug), r.after} {
			cols[j][i] = v
		}
		if sd.KeyID != "" {
			sealed[i] = sd.Value
		}
	}
	rows, err := s.pool.Query(ctx, createServers, store.NowMillis(), batch[0].appID, int64(n), int64(batch[0].in.Limit), store.AuditServerCreate,
		cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], sealed, cols[8], cols[9], cols[10], cols[11])
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := make(map[string]int64, n)
	for rows.Next() {
		var slug string
		var t int64
		if err := rows.Scan(&slug, &t); err != nil {
			return nil, err
		}
		got[slug] = t
	}
	return got, rows.Err()
}

// auditFormat is the create's audit JSON as a format() string whose %1$s the statement
// fills with the createdAt/updatedAt it hands out; false when the data holds the sentinel's
// digits (then the shared flow does it).
func auditFormat(appID string, in store.NewMCPServer) (string, bool) {
	m, _ := sqlstore.NewServer(appID, in)
	m.CreatedAt, m.UpdatedAt = clockSentinel, clockSentinel
	after := strings.ReplaceAll(string(store.AuditJSON(m)), "%", "%%")
	sentinel := strconv.FormatInt(clockSentinel, 10)
	if strings.Count(after, sentinel) != 2 {
		return "", false
	}
	return strings.ReplaceAll(after, sentinel, "%1$s"), true
}

// clockSentinel stands for the clock in the audit JSON the statement completes; no real
// clock (epoch milliseconds) comes near it.
const clockSentinel int64 = 7_340_032_000_000_000_001

// createServers creates $3 servers of app $2 at once: the app row's clock and count (within
// limit $4) in the same statement, consecutive clocks in batch order, an audit event each
// with its after completed by format(); all or (a conflict, the limit, no app) none.
const createServers = `WITH i AS (
	SELECT * FROM unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bytea[],
		$15::text[], $16::text[], $17::text[], $18::text[])
	WITH ORDINALITY AS i(slug, name, description, url, icon, auth_type, auth_headers, auth_key_id, auth_sealed, key_id, request_id, target, after, ord)
), c AS (
	UPDATE apps SET clock = GREATEST(clock + 1, $1::bigint) + $3::bigint - 1, servers = servers + $3::bigint
	WHERE id = $2 AND ($4::bigint <= 0 OR servers + $3::bigint <= $4::bigint) RETURNING clock - $3::bigint + 1 AS base
), s AS (
	INSERT INTO mcp_servers (app_id, slug, name, description, url, icon, created_at, updated_at, auth_type, auth_headers, auth_key_id, auth_sealed)
	SELECT $2, i.slug, i.name, i.description, i.url, i.icon, c.base + i.ord - 1, c.base + i.ord - 1, i.auth_type, i.auth_headers, i.auth_key_id, i.auth_sealed
	FROM i, c ORDER BY i.ord
	RETURNING slug, created_at
), e AS (
	INSERT INTO audit_events (app_id, key_id, action, target, at, request_id, before, after)
	SELECT $2, i.key_id, $5::text, i.target, $1::bigint, i.request_id, NULL, format(i.after, s.created_at)
	FROM s JOIN i ON i.slug = s.slug ORDER BY i.ord
	RETURNING 1
)
SELECT slug, created_at FROM s, (SELECT count(*) FROM e) AS done`
