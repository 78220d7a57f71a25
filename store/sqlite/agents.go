package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/agentmcp/agentmcp/store"
)

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// agentColumns reads an agent with its attached slugs in attachment order.
const agentColumns = `a.app_id, a.uid, a.name, a.icon, a.is_active, a.description,
	a.tools, a.files, a.websites, a.other_kb_integrations, a.api_tools, a.frontend_actions,
	a.rag_version, a.last_message_at, a.instruction, a.meta_data, a.model, a.model_meta_data,
	a.created_at, a.updated_at,
	(SELECT json_group_array(slug) FROM (SELECT m.slug FROM agent_mcp_servers m
	  WHERE m.app_id = a.app_id AND m.agent_uid = a.uid ORDER BY m.position))`

func scanAgent(sc interface{ Scan(...any) error }) (store.Agent, error) {
	var a store.Agent
	var tools, files, websites, kb, apiTools, fa, meta, modelMeta, mcps string
	var last sql.NullInt64
	err := sc.Scan(&a.AppID, &a.UID, &a.Name, &a.Icon, &a.IsActive, &a.Description,
		&tools, &files, &websites, &kb, &apiTools, &fa,
		&a.RagVersion, &last, &a.Instruction, &meta, &a.Model, &modelMeta,
		&a.CreatedAt, &a.UpdatedAt, &mcps)
	if err != nil {
		return store.Agent{}, err
	}
	if last.Valid {
		a.LastMessageAt = &last.Int64
	}
	if err := a.DecodeJSON(tools, files, websites, kb, apiTools, fa, mcps, meta, modelMeta); err != nil {
		return store.Agent{}, err
	}
	return a, nil
}

func getAgent(ctx context.Context, q querier, appID, uid string) (store.Agent, error) {
	a, err := scanAgent(q.QueryRowContext(ctx, "SELECT "+agentColumns+" FROM agents a WHERE a.app_id = ? AND a.uid = ?", appID, uid))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Agent{}, fmt.Errorf("agent %q: %w", uid, store.ErrNotFound)
	}
	return a, err
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only []string and JSON-decoded maps reach here
	}
	return string(b)
}

// checkServers returns *store.UnknownMCPServersError unless every slug exists in the app.
func checkServers(ctx context.Context, tx querier, appID string, slugs []string) error {
	if len(slugs) == 0 {
		return nil
	}
	rows, err := tx.QueryContext(ctx, "SELECT slug FROM mcp_servers WHERE app_id = ? AND slug IN (SELECT value FROM json_each(?))", appID, jsonText(slugs))
	if err != nil {
		return err
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		have[s] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return store.Unknown(slugs, have)
}

// appendServers attaches slugs (already checked, deduplicated, not yet attached) after the
// agent's last position.
func appendServers(ctx context.Context, tx querier, appID, uid string, slugs []string) error {
	var pos int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(position), 0) FROM agent_mcp_servers WHERE app_id = ? AND agent_uid = ?", appID, uid).Scan(&pos); err != nil {
		return err
	}
	for _, s := range slugs {
		pos++
		if _, err := tx.ExecContext(ctx, "INSERT INTO agent_mcp_servers (app_id, agent_uid, slug, position) VALUES (?, ?, ?, ?)", appID, uid, s, pos); err != nil {
			return err
		}
	}
	return nil
}

func touchAgent(ctx context.Context, tx querier, appID, uid string) error {
	_, err := tx.ExecContext(ctx, "UPDATE agents SET updated_at = MAX(?, updated_at + 1) WHERE app_id = ? AND uid = ?", store.NowMillis(), appID, uid)
	return err
}

func (s *Store) CreateAgent(ctx context.Context, a store.Agent) (store.Agent, error) {
	a.Normalize()
	var out store.Agent
	err := s.inTx(ctx, func(tx querier) error {
		t, err := tick(ctx, tx, a.AppID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO agents (app_id, uid, name, icon, is_active, description,
			tools, files, websites, other_kb_integrations, api_tools, frontend_actions,
			rag_version, last_message_at, instruction, meta_data, model, model_meta_data, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, uid) DO NOTHING`,
			a.AppID, a.UID, a.Name, a.Icon, a.IsActive, a.Description,
			jsonText(a.Tools), jsonText(a.Files), jsonText(a.Websites), jsonText(a.OtherKbIntegrations), jsonText(a.APITools), jsonText(a.FrontendActions),
			a.RagVersion, a.Instruction, jsonText(a.MetaData), a.Model, jsonText(a.ModelMetaData), t, t)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("agent %q: %w", a.UID, store.ErrConflict)
		}
		if err := checkServers(ctx, tx, a.AppID, a.MCPServers); err != nil {
			return err
		}
		if err := appendServers(ctx, tx, a.AppID, a.UID, store.Dedup(a.MCPServers)); err != nil {
			return err
		}
		if out, err = getAgent(ctx, tx, a.AppID, a.UID); err != nil {
			return err
		}
		return audit(ctx, tx, a.AppID, store.AuditAgentCreate, store.AgentTarget(a.UID), nil, out)
	})
	return out, err
}

func (s *Store) GetAgent(ctx context.Context, appID, uid string) (store.Agent, error) {
	return getAgent(ctx, s.r, appID, uid)
}

func (s *Store) UpdateAgent(ctx context.Context, appID, uid string, p store.AgentPatch, pre store.Precondition) (store.Agent, error) {
	var out store.Agent
	err := s.inTx(ctx, func(tx querier) error {
		cur, err := getAgent(ctx, tx, appID, uid)
		if err != nil {
			return err
		}
		if err := pre.Check(store.AgentVersion(cur)); err != nil {
			return err
		}
		next, changed := p.Apply(cur)
		if p.MCPServers != nil {
			want := store.Dedup(*p.MCPServers)
			if err := checkServers(ctx, tx, appID, *p.MCPServers); err != nil {
				return err
			}
			if !slices.Equal(want, cur.MCPServers) {
				if _, err := tx.ExecContext(ctx, "DELETE FROM agent_mcp_servers WHERE app_id = ? AND agent_uid = ?", appID, uid); err != nil {
					return err
				}
				if err := appendServers(ctx, tx, appID, uid, want); err != nil {
					return err
				}
				changed = true
			}
		}
		if !changed {
			out = cur
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE agents SET name = ?, icon = ?, is_active = ?, description = ?,
			tools = ?, files = ?, websites = ?, other_kb_integrations = ?, api_tools = ?, frontend_actions = ?,
			rag_version = ?, instruction = ?, meta_data = ?, model = ?, model_meta_data = ?,
			updated_at = MAX(?, updated_at + 1) WHERE app_id = ? AND uid = ?`,
			next.Name, next.Icon, next.IsActive, next.Description,
			jsonText(next.Tools), jsonText(next.Files), jsonText(next.Websites), jsonText(next.OtherKbIntegrations), jsonText(next.APITools), jsonText(next.FrontendActions),
			next.RagVersion, next.Instruction, jsonText(next.MetaData), next.Model, jsonText(next.ModelMetaData),
			store.NowMillis(), appID, uid); err != nil {
			return err
		}
		if out, err = getAgent(ctx, tx, appID, uid); err != nil {
			return err
		}
		return audit(ctx, tx, appID, store.AuditAgentUpdate, store.AgentTarget(uid), cur, out)
	})
	return out, err
}

func (s *Store) DeleteAgent(ctx context.Context, appID, uid string, pre store.Precondition) error {
	return s.inTx(ctx, func(tx querier) error {
		cur, err := getAgent(ctx, tx, appID, uid)
		if err != nil {
			return err
		}
		if err := pre.Check(store.AgentVersion(cur)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM agents WHERE app_id = ? AND uid = ?", appID, uid); err != nil {
			return err
		}
		return audit(ctx, tx, appID, store.AuditAgentDelete, store.AgentTarget(uid), cur, nil)
	})
}

func (s *Store) ListAgents(ctx context.Context, appID string, p store.Page) ([]store.Agent, error) {
	return listPage(ctx, s.rq, "SELECT "+agentColumns+" FROM agents a WHERE a.app_id = ?", "a.", appID, p, scanAgent)
}

func (s *Store) AttachMCPServers(ctx context.Context, appID, uid string, slugs []string) (store.Agent, error) {
	var out store.Agent
	err := s.inTx(ctx, func(tx querier) error {
		cur, err := getAgent(ctx, tx, appID, uid)
		if err != nil {
			return err
		}
		if err := checkServers(ctx, tx, appID, slugs); err != nil {
			return err
		}
		attached := make(map[string]bool, len(cur.MCPServers))
		for _, s := range cur.MCPServers {
			attached[s] = true
		}
		var add []string
		for _, s := range store.Dedup(slugs) {
			if !attached[s] {
				add = append(add, s)
			}
		}
		if len(add) == 0 {
			out = cur
			return nil
		}
		if err := appendServers(ctx, tx, appID, uid, add); err != nil {
			return err
		}
		if err := touchAgent(ctx, tx, appID, uid); err != nil {
			return err
		}
		if out, err = getAgent(ctx, tx, appID, uid); err != nil {
			return err
		}
		return audit(ctx, tx, appID, store.AuditAgentAttach, store.AgentTarget(uid), cur, out)
	})
	return out, err
}

func (s *Store) DetachMCPServers(ctx context.Context, appID, uid string, slugs []string) (store.Agent, error) {
	var out store.Agent
	err := s.inTx(ctx, func(tx querier) error {
		cur, err := getAgent(ctx, tx, appID, uid)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM agent_mcp_servers WHERE app_id = ? AND agent_uid = ? AND slug IN (SELECT value FROM json_each(?))", appID, uid, jsonText(slugs))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			out = cur
			return nil
		}
		if err := touchAgent(ctx, tx, appID, uid); err != nil {
			return err
		}
		if out, err = getAgent(ctx, tx, appID, uid); err != nil {
			return err
		}
		return audit(ctx, tx, appID, store.AuditAgentDetach, store.AgentTarget(uid), cur, out)
	})
	return out, err
}

func (s *Store) AgentMCPServers(ctx context.Context, appID, uid string) ([]store.MCPServer, error) {
	// One read transaction: the agent and its servers come from the same snapshot.
	rtx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	var pending []string
	defer func() {
		rtx.Rollback()
		s.rq.prepareAll(context.WithoutCancel(ctx), pending)
	}()
	tx := txq{tx: rtx, p: s.rq, pending: &pending}
	if _, err := getAgent(ctx, tx, appID, uid); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT s.app_id, s.slug, s.name, s.description, s.url, s.icon, s.created_at, s.updated_at,
		p.status, p.checked_at, p.tool_count
		FROM agent_mcp_servers m JOIN mcp_servers s ON s.app_id = m.app_id AND s.slug = m.slug
		LEFT JOIN mcp_server_probes p ON p.app_id = s.app_id AND p.slug = s.slug
		WHERE m.app_id = ? AND m.agent_uid = ? ORDER BY m.position`, appID, uid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.MCPServer
	for rows.Next() {
		m, err := scanServer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
