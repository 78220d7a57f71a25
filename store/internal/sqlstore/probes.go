package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/agentmcp/agentmcp/store"
)

func (s *Store) SaveProbe(ctx context.Context, appID, slug string, r store.ProbeRecord) error {
	// The tools are those of the last successful probe.
	var tools *string
	var toolsAt int64
	if r.Status == store.HealthOK {
		t := string(r.Tools)
		tools, toolsAt = &t, r.CheckedAt
	}
	return s.tx(ctx, func(q Querier) error {
		n, err := q.Exec(ctx, `INSERT INTO mcp_server_probes (app_id, slug, `+probeColumns+`)
			SELECT app_id, slug, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM mcp_servers WHERE app_id = ? AND slug = ?
			ON CONFLICT (app_id, slug) DO UPDATE SET status = excluded.status, checked_at = excluded.checked_at,
			  latency_ms = excluded.latency_ms, protocol_version = excluded.protocol_version, server_name = excluded.server_name,
			  server_version = excluded.server_version, capabilities = excluded.capabilities, tool_count = excluded.tool_count,
			  error = excluded.error, auth_scheme = excluded.auth_scheme, resource_metadata = excluded.resource_metadata,
			  tools = CASE WHEN excluded.status = 'ok' THEN excluded.tools ELSE mcp_server_probes.tools END,
			  tools_checked_at = CASE WHEN excluded.status = 'ok' THEN excluded.tools_checked_at ELSE mcp_server_probes.tools_checked_at END`,
			r.Status, r.CheckedAt, r.LatencyMs, r.ProtocolVersion, r.ServerName, r.ServerVersion, JSONText(store.NonNilMap(r.Capabilities)),
			r.ToolCount, r.Error, r.AuthScheme, r.ResourceMetadata, tools, toolsAt, appID, slug)
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound("mcp server", slug)
		}
		_, err = q.Exec(ctx, "DELETE FROM probe_leases WHERE app_id = ? AND slug = ?", appID, slug)
		return err
	})
}

func (s *Store) GetProbe(ctx context.Context, appID, slug string) (store.ProbeRecord, error) {
	var r store.ProbeRecord
	var caps string
	var tools sql.NullString
	err := s.read.QueryRow(ctx, "SELECT "+probeColumns+" FROM mcp_server_probes WHERE app_id = ? AND slug = ?", appID, slug).Scan(
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

// ScanServerRef scans app_id, slug, url.
func ScanServerRef(sc Scanner) (store.ServerRef, error) {
	var r store.ServerRef
	return r, sc.Scan(&r.AppID, &r.Slug, &r.URL)
}
