package sqlite

import (
	"context"

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/internal/sqlstore"
)

// ClaimProbes reads the candidates and leases them in one write transaction: with one
// writer, no other claim runs in between.
func (s *Store) ClaimProbes(ctx context.Context, staleBefore, now, leaseUntil int64, limit int) ([]store.ServerRef, error) {
	var out []store.ServerRef
	err := s.inTx(ctx, func(q sqlstore.Querier) error {
		var err error
		out, err = sqlstore.Collect(ctx, q, `SELECT s.app_id, s.slug, s.url FROM mcp_servers s
			LEFT JOIN mcp_server_probes p ON p.app_id = s.app_id AND p.slug = s.slug
			LEFT JOIN probe_leases l ON l.app_id = s.app_id AND l.slug = s.slug
			WHERE (p.checked_at IS NULL OR p.checked_at < ?) AND (l.until IS NULL OR l.until < ?)
			ORDER BY COALESCE(p.checked_at, 0) LIMIT ?`, []any{staleBefore, now, limit}, sqlstore.ScanServerRef)
		if err != nil {
			return err
		}
		for _, r := range out {
			if _, err := q.Exec(ctx, `INSERT INTO probe_leases (app_id, slug, until) VALUES (?, ?, ?)
				ON CONFLICT (app_id, slug) DO UPDATE SET until = excluded.until`, r.AppID, r.Slug, leaseUntil); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
