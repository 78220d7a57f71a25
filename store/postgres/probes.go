package postgres

import (
	"context"

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/internal/sqlstore"
)

func (s *Store) ClaimProbes(ctx context.Context, staleBefore, now, leaseUntil int64, limit int) ([]store.ServerRef, error) {
	// The lease row is the lock: the upsert's WHERE is checked against the latest committed
	// lease (waiting for an uncommitted one), so two replicas claiming at once never both get
	// a server, whatever their snapshots saw.
	return sqlstore.Collect(ctx, pgq{s.pool}, `WITH cand AS (
			SELECT s.app_id, s.slug FROM mcp_servers s
			LEFT JOIN mcp_server_probes p ON p.app_id = s.app_id AND p.slug = s.slug
			LEFT JOIN probe_leases l ON l.app_id = s.app_id AND l.slug = s.slug
			WHERE (p.checked_at IS NULL OR p.checked_at < ?) AND (l.until IS NULL OR l.until < ?)
			ORDER BY COALESCE(p.checked_at, 0) LIMIT ?),
		claimed AS (
			INSERT INTO probe_leases (app_id, slug, until) SELECT app_id, slug, ? FROM cand
			ON CONFLICT (app_id, slug) DO UPDATE SET until = excluded.until WHERE probe_leases.until < ?
			RETURNING app_id, slug)
		SELECT c.app_id, c.slug, s.url FROM claimed c JOIN mcp_servers s ON s.app_id = c.app_id AND s.slug = c.slug`,
		[]any{staleBefore, now, limit, leaseUntil, now}, sqlstore.ScanServerRef)
}
