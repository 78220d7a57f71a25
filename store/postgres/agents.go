package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/agentmcp/agentmcp/store"
)

// agentColumns reads an agent with its attached slugs in attachment order.
const agentColumns = `a.app_id, a.uid, a.name, a.icon, a.is_active, a.description,
	a.tools::text, a.files::text, a.websites::text, a.other_kb_integrations::text, a.api_tools::text, a.frontend_actions::text,
	a.rag_version, a.last_message_at, a.instruction, a.meta_data::text, a.model, a.model_meta_data::text,
	a.created_at, a.updated_at,
	(SELECT COALESCE(json_agg(m.slug ORDER BY m.position), '[]'::json)::text FROM agent_mcp_servers m
	  WHERE m.app_id = a.app_id AND m.agent_uid = a.uid)`

func scanAgent(sc scanner) (store.Agent, error) {
	var a store.Agent
	var tools, files, websites, kb, apiTools, fa, meta, modelMeta, mcps string
	err := sc.Scan(&a.AppID, &a.UID, &a.Name, &a.Icon, &a.IsActive, &a.Description,
		&tools, &files, &websites, &kb, &apiTools, &fa,
		&a.RagVersion, &a.LastMessageAt, &a.Instruction, &meta, &a.Model, &modelMeta,
		&a.CreatedAt, &a.UpdatedAt, &mcps)
	if err != nil {
		return store.Agent{}, err
	}
	if err := a.DecodeJSON(tools, files, websites, kb, apiTools, fa, mcps, meta, modelMeta); err != nil {
		return store.Agent{}, err
	}
	return a, nil
}

// getAgent reads an agent; lock takes its row lock for the rest of the transaction.
func getAgent(ctx context.Context, q querier, appID, uid string, lock bool) (store.Agent, error) {
	sql := "SELECT " + agentColumns + " FROM agents a WHERE a.app_id = $1 AND a.uid = $2"
	if lock {
		sql += " FOR UPDATE OF a"
	}
	a, err := scanAgent(q.QueryRow(ctx, sql, appID, uid))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Agent{}, fmt.Errorf("agent %q: %w", uid, store.ErrNotFound)
	}
	return a, err
}

// lockServers takes KEY SHARE locks on the servers (so none is deleted before the
// transaction ends) and returns *store.UnknownMCPServersError unless all exist.
func lockServers(ctx context.Context, tx pgx.Tx, appID string, slugs []string) error {
	if len(slugs) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, "SELECT slug FROM mcp_servers WHERE app_id = $1 AND slug = ANY($2::text[]) ORDER BY slug FOR KEY SHARE", appID, slugs)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	var s string
	if _, err := pgx.ForEachRow(rows, []any{&s}, func() error { have[s] = true; return nil }); err != nil {
		return err
	}
	return store.Unknown(slugs, have)
}

// appendServers attaches slugs (checked, deduplicated, not yet attached) after the last position.
func appendServers(ctx context.Context, tx pgx.Tx, appID, uid string, slugs []string) error {
	if len(slugs) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO agent_mcp_servers (app_id, agent_uid, slug, position)
		SELECT $1, $2, s.slug, (SELECT COALESCE(MAX(position), 0) FROM agent_mcp_servers WHERE app_id = $1 AND agent_uid = $2) + s.n
		FROM unnest($3::text[]) WITH ORDINALITY AS s(slug, n)`, appID, uid, slugs)
	return err
}

func touchAgent(ctx context.Context, tx pgx.Tx, appID, uid string) error {
	_, err := tx.Exec(ctx, "UPDATE agents SET updated_at = GREATEST($1, updated_at + 1) WHERE app_id = $2 AND uid = $3", store.NowMillis(), appID, uid)
	return err
}

func (s *Store) CreateAgent(ctx context.Context, a store.Agent) (store.Agent, error) {
	a.Normalize()
	var out store.Agent
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var taken bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM agents WHERE app_id = $1 AND uid = $2)", a.AppID, a.UID).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("agent %q: %w", a.UID, store.ErrConflict)
		}
		if err := lockServers(ctx, tx, a.AppID, a.MCPServers); err != nil {
			return err
		}
		t, err := tick(ctx, tx, a.AppID)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO agents (app_id, uid, name, icon, is_active, description,
			tools, files, websites, other_kb_integrations, api_tools, frontend_actions,
			rag_version, last_message_at, instruction, meta_data, model, model_meta_data, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8::text::jsonb, $9::text::jsonb, $10::text::jsonb, $11::text::jsonb, $12::text::jsonb,
			$13, NULL, $14, $15::text::jsonb, $16, $17::text::jsonb, $18, $18) ON CONFLICT (app_id, uid) DO NOTHING`,
			a.AppID, a.UID, a.Name, a.Icon, a.IsActive, a.Description,
			jsonText(a.Tools), jsonText(a.Files), jsonText(a.Websites), jsonText(a.OtherKbIntegrations), jsonText(a.APITools), jsonText(a.FrontendActions),
			a.RagVersion, a.Instruction, jsonText(a.MetaData), a.Model, jsonText(a.ModelMetaData), t)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("agent %q: %w", a.UID, store.ErrConflict)
		}
		if err := appendServers(ctx, tx, a.AppID, a.UID, store.Dedup(a.MCPServers)); err != nil {
			return err
		}
		if out, err = getAgent(ctx, tx, a.AppID, a.UID, false); err != nil {
			return err
		}
		return audit(ctx, tx, a.AppID, store.AuditAgentCreate, store.AgentTarget(a.UID), nil, out)
	})
	return out, err
}

func (s *Store) GetAgent(ctx context.Context, appID, uid string) (store.Agent, error) {
	a, err := getAgent(ctx, s.pool, appID, uid, false)
	return a, wrap(err)
}

func (s *Store) UpdateAgent(ctx context.Context, appID, uid string, p store.AgentPatch, pre store.Precondition) (store.Agent, error) {
	var out store.Agent
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := getAgent(ctx, tx, appID, uid, false); err != nil {
			return err
		}
		if p.MCPServers != nil {
			if err := lockServers(ctx, tx, appID, *p.MCPServers); err != nil {
				return err
			}
		}
		cur, err := getAgent(ctx, tx, appID, uid, true)
		if err != nil {
			return err
		}
		if err := pre.Check(store.AgentVersion(cur)); err != nil {
			return err
		}
		next, changed := p.Apply(cur)
		if p.MCPServers != nil {
			if want := store.Dedup(*p.MCPServers); !slices.Equal(want, cur.MCPServers) {
				if _, err := tx.Exec(ctx, "DELETE FROM agent_mcp_servers WHERE app_id = $1 AND agent_uid = $2", appID, uid); err != nil {
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
		if _, err := tx.Exec(ctx, `UPDATE agents SET name = $1, icon = $2, is_active = $3, description = $4,
			tools = $5::text::jsonb, files = $6::text::jsonb, websites = $7::text::jsonb, other_kb_integrations = $8::text::jsonb,
			api_tools = $9::text::jsonb, frontend_actions = $10::text::jsonb,
			rag_version = $11, instruction = $12, meta_data = $13::text::jsonb, model = $14, model_meta_data = $15::text::jsonb,
			updated_at = GREATEST($16, updated_at + 1) WHERE app_id = $17 AND uid = $18`,
			next.Name, next.Icon, next.IsActive, next.Description,
			jsonText(next.Tools), jsonText(next.Files), jsonText(next.Websites), jsonText(next.OtherKbIntegrations), jsonText(next.APITools), jsonText(next.FrontendActions),
			next.RagVersion, next.Instruction, jsonText(next.MetaData), next.Model, jsonText(next.ModelMetaData),
			store.NowMillis(), appID, uid); err != nil {
			return err
		}
		if out, err = getAgent(ctx, tx, appID, uid, false); err != nil {
			return err
		}
		return audit(ctx, tx, appID, store.AuditAgentUpdate, store.AgentTarget(uid), cur, out)
	})
	return out, err
}

func (s *Store) DeleteAgent(ctx context.Context, appID, uid string, pre store.Precondition) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := getAgent(ctx, tx, appID, uid, true)
		if err != nil {
			return err
		}
		if err := pre.Check(store.AgentVersion(cur)); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, "DELETE FROM agents WHERE app_id = $1 AND uid = $2", appID, uid); err != nil {
			return err
		}
		return audit(ctx, tx, appID, store.AuditAgentDelete, store.AgentTarget(uid), cur, nil)
	})
}

func (s *Store) ListAgents(ctx context.Context, appID string, p store.Page) ([]store.Agent, error) {
	return listPage(ctx, s.pool, "SELECT "+agentColumns+" FROM agents a WHERE a.app_id = $1", "a.", appID, p, scanAgent)
}

func (s *Store) AttachMCPServers(ctx context.Context, appID, uid string, slugs []string) (store.Agent, error) {
	var out store.Agent
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := getAgent(ctx, tx, appID, uid, false); err != nil {
			return err
		}
		if err := lockServers(ctx, tx, appID, slugs); err != nil {
			return err
		}
		cur, err := getAgent(ctx, tx, appID, uid, true)
		if err != nil {
			return err
		}
		var add []string
		for _, s := range store.Dedup(slugs) {
			if !slices.Contains(cur.MCPServers, s) {
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
		if out, err = getAgent(ctx, tx, appID, uid, false); err != nil {
			return err
		}
		return audit(ctx, tx, appID, store.AuditAgentAttach, store.AgentTarget(uid), cur, out)
	})
	return out, err
}

func (s *Store) DetachMCPServers(ctx context.Context, appID, uid string, slugs []string) (store.Agent, error) {
	var out store.Agent
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := getAgent(ctx, tx, appID, uid, true)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, "DELETE FROM agent_mcp_servers WHERE app_id = $1 AND agent_uid = $2 AND slug = ANY($3::text[])", appID, uid, slugs)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			out = cur
			return nil
		}
		if err := touchAgent(ctx, tx, appID, uid); err != nil {
			return err
		}
		if out, err = getAgent(ctx, tx, appID, uid, false); err != nil {
			return err
		}
		return audit(ctx, tx, appID, store.AuditAgentDetach, store.AgentTarget(uid), cur, out)
	})
	return out, err
}

func (s *Store) AgentMCPServers(ctx context.Context, appID, uid string) ([]store.MCPServer, error) {
	var out []store.MCPServer
	// REPEATABLE READ: the agent and its servers come from one snapshot.
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := getAgent(ctx, tx, appID, uid, false); err != nil {
			return err
		}
		var err error
		out, err = collect(ctx, tx, `SELECT s.app_id, s.slug, s.name, s.description, s.url, s.icon, s.created_at, s.updated_at,
			p.status, p.checked_at, p.tool_count
			FROM agent_mcp_servers m JOIN mcp_servers s ON s.app_id = m.app_id AND s.slug = m.slug
			LEFT JOIN mcp_server_probes p ON p.app_id = s.app_id AND p.slug = s.slug
			WHERE m.app_id = $1 AND m.agent_uid = $2 ORDER BY m.position`, []any{appID, uid}, scanServer)
		return err
	})
	return out, wrap(err)
}
