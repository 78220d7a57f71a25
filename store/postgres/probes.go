package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/agentmcp/agentmcp/store"
)

const probeColumns = `status, checked_at, latency_ms, protocol_version, server_name, server_version, capabilities,
	tool_count, error, auth_scheme, resource_metadata, tools, tools_checked_at`

func (s *Store) SaveProbe(ctx context.Context, appID, slug string, r store.ProbeRecord) error {
	var tools *string
	var toolsAt int64
	if r.Status == "ok" {
		t := string(r.Tools)
		tools, toolsAt = &t, r.CheckedAt
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO mcp_server_probes (app_id, slug, `+probeColumns+`)
			SELECT app_id, slug, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 FROM mcp_servers WHERE app_id = $1 AND slug = $2
			ON CONFLICT (app_id, slug) DO UPDATE SET status = excluded.status, checked_at = excluded.checked_at,
			  latency_ms = excluded.latency_ms, protocol_version = excluded.protocol_version, server_name = excluded.server_name,
			  server_version = excluded.server_version, capabilities = excluded.capabilities, tool_count = excluded.tool_count,
			  error = excluded.error, auth_scheme = excluded.auth_scheme, resource_metadata = excluded.resource_metadata,
			  tools = CASE WHEN excluded.status = 'ok' THEN excluded.tools ELSE mcp_server_probes.tools END,
			  tools_checked_at = CASE WHEN excluded.status = 'ok' THEN excluded.tools_checked_at ELSE mcp_server_probes.tools_checked_at END`,
			appID, slug, r.Status, r.CheckedAt, r.LatencyMs, r.ProtocolVersion, r.ServerName, r.ServerVersion, jsonText(store.NonNilMap(r.Capabilities)),
			r.ToolCount, r.Error, r.AuthScheme, r.ResourceMetadata, tools, toolsAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("mcp server %q: %w", slug, store.ErrNotFound)
		}
		_, err = tx.Exec(ctx, "DELETE FROM probe_leases WHERE app_id = $1 AND slug = $2", appID, slug)
		return err
	})
}

func (s *Store) GetProbe(ctx context.Context, appID, slug string) (store.ProbeRecord, error) {
	var r store.ProbeRecord
	var caps string
	var tools *string
	err := s.pool.QueryRow(ctx, "SELECT "+probeColumns+" FROM mcp_server_probes WHERE app_id = $1 AND slug = $2", appID, slug).Scan(
		&r.Status, &r.CheckedAt, &r.LatencyMs, &r.ProtocolVersion, &r.ServerName, &r.ServerVersion, &caps,
		&r.ToolCount, &r.Error, &r.AuthScheme, &r.ResourceMetadata, &tools, &r.ToolsCheckedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("probe of %q: %w", slug, store.ErrNotFound)
	}
	if err != nil {
		return r, wrap(err)
	}
	if tools != nil {
		r.Tools = []byte(*tools)
	}
	return r, json.Unmarshal([]byte(caps), &r.Capabilities)
}

func (s *Store) ClaimProbes(ctx context.Context, staleBefore, now, leaseUntil int64, limit int) ([]store.ServerRef, error) {
	// The lease row is the lock: the upsert's WHERE is checked against the latest committed
	// lease (waiting for an uncommitted one), so two replicas claiming at once never both get
	// a server, whatever their snapshots saw.
	refs, err := collect(ctx, s.pool, `WITH cand AS (
			SELECT s.app_id, s.slug FROM mcp_servers s
			LEFT JOIN mcp_server_probes p ON p.app_id = s.app_id AND p.slug = s.slug
			LEFT JOIN probe_leases l ON l.app_id = s.app_id AND l.slug = s.slug
			WHERE (p.checked_at IS NULL OR p.checked_at < $1) AND (l.until IS NULL OR l.until < $2)
			ORDER BY COALESCE(p.checked_at, 0) LIMIT $3),
		claimed AS (
			INSERT INTO probe_leases (app_id, slug, until) SELECT app_id, slug, $4 FROM cand
			ON CONFLICT (app_id, slug) DO UPDATE SET until = excluded.until WHERE probe_leases.until < $2
			RETURNING app_id, slug)
		SELECT c.app_id, c.slug, s.url FROM claimed c JOIN mcp_servers s ON s.app_id = c.app_id AND s.slug = c.slug`,
		[]any{staleBefore, now, limit, leaseUntil}, func(sc scanner) (store.ServerRef, error) {
			var r store.ServerRef
			return r, sc.Scan(&r.AppID, &r.Slug, &r.URL)
		})
	if err != nil {
		return nil, err
	}
	return refs, nil
}
