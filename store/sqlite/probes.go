package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/agentmcp/agentmcp/store"
)

const probeColumns = `status, checked_at, latency_ms, protocol_version, server_name, server_version, capabilities,
	tool_count, error, auth_scheme, resource_metadata, tools, tools_checked_at`

func (s *Store) SaveProbe(ctx context.Context, appID, slug string, r store.ProbeRecord) error {
	var tools any
	if r.Status == "ok" {
		tools = string(r.Tools)
	}
	return s.inTx(ctx, func(tx querier) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO mcp_server_probes (app_id, slug, `+probeColumns+`)
			SELECT app_id, slug, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM mcp_servers WHERE app_id = ? AND slug = ?
			ON CONFLICT (app_id, slug) DO UPDATE SET status = excluded.status, checked_at = excluded.checked_at,
			  latency_ms = excluded.latency_ms, protocol_version = excluded.protocol_version, server_name = excluded.server_name,
			  server_version = excluded.server_version, capabilities = excluded.capabilities, tool_count = excluded.tool_count,
			  error = excluded.error, auth_scheme = excluded.auth_scheme, resource_metadata = excluded.resource_metadata,
			  tools = CASE WHEN excluded.status = 'ok' THEN excluded.tools ELSE mcp_server_probes.tools END,
			  tools_checked_at = CASE WHEN excluded.status = 'ok' THEN excluded.tools_checked_at ELSE mcp_server_probes.tools_checked_at END`,
			r.Status, r.CheckedAt, r.LatencyMs, r.ProtocolVersion, r.ServerName, r.ServerVersion, jsonText(store.NonNilMap(r.Capabilities)),
			r.ToolCount, r.Error, r.AuthScheme, r.ResourceMetadata, tools, okTime(r), appID, slug)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("mcp server %q: %w", slug, store.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM probe_leases WHERE app_id = ? AND slug = ?", appID, slug)
		return err
	})
}

func okTime(r store.ProbeRecord) int64 {
	if r.Status == "ok" {
		return r.CheckedAt
	}
	return 0
}

func (s *Store) GetProbe(ctx context.Context, appID, slug string) (store.ProbeRecord, error) {
	var r store.ProbeRecord
	var caps string
	var tools sql.NullString
	err := s.rq.QueryRowContext(ctx, "SELECT "+probeColumns+" FROM mcp_server_probes WHERE app_id = ? AND slug = ?", appID, slug).Scan(
		&r.Status, &r.CheckedAt, &r.LatencyMs, &r.ProtocolVersion, &r.ServerName, &r.ServerVersion, &caps,
		&r.ToolCount, &r.Error, &r.AuthScheme, &r.ResourceMetadata, &tools, &r.ToolsCheckedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("probe of %q: %w", slug, store.ErrNotFound)
	}
	if err != nil {
		return r, err
	}
	if tools.Valid {
		r.Tools = []byte(tools.String)
	}
	return r, json.Unmarshal([]byte(caps), &r.Capabilities)
}

func (s *Store) ClaimProbes(ctx context.Context, staleBefore, now, leaseUntil int64, limit int) ([]store.ServerRef, error) {
	var out []store.ServerRef
	err := s.inTx(ctx, func(tx querier) error {
		rows, err := tx.QueryContext(ctx, `SELECT s.app_id, s.slug, s.url FROM mcp_servers s
			LEFT JOIN mcp_server_probes p ON p.app_id = s.app_id AND p.slug = s.slug
			LEFT JOIN probe_leases l ON l.app_id = s.app_id AND l.slug = s.slug
			WHERE (p.checked_at IS NULL OR p.checked_at < ?) AND (l.until IS NULL OR l.until < ?)
			ORDER BY COALESCE(p.checked_at, 0) LIMIT ?`, staleBefore, now, limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r store.ServerRef
			if err := rows.Scan(&r.AppID, &r.Slug, &r.URL); err != nil {
				rows.Close()
				return err
			}
			out = append(out, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range out {
			if _, err := tx.ExecContext(ctx, `INSERT INTO probe_leases (app_id, slug, until) VALUES (?, ?, ?)
				ON CONFLICT (app_id, slug) DO UPDATE SET until = excluded.until`, r.AppID, r.Slug, leaseUntil); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
