package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/agentmcp/agentmcp/store"
)

// agentRow is an agent's row as scanned, its JSON columns not yet decoded.
type agentRow struct {
	a                                                                   store.Agent
	tools, files, websites, kb, apiTools, fa, meta, modelMeta, mcps, gw string
	last                                                                sql.NullInt64
}

func scanAgentRow(sc Scanner) (agentRow, error) {
	var r agentRow
	a := &r.a
	err := sc.Scan(&a.AppID, &a.UID, &a.Name, &a.Icon, &a.IsActive, &a.Description,
		&r.tools, &r.files, &r.websites, &r.kb, &r.apiTools, &r.fa,
		&a.RagVersion, &r.last, &a.Instruction, &r.meta, &a.Model, &r.modelMeta,
		&a.CreatedAt, &a.UpdatedAt, &r.mcps, &r.gw)
	return r, err
}

func (r *agentRow) decode() (store.Agent, error) {
	a := r.a
	if r.last.Valid {
		a.LastMessageAt = &r.last.Int64
	}
	for _, f := range []struct {
		src string
		dst *[]string
	}{
		{r.tools, &a.Tools}, {r.files, &a.Files}, {r.websites, &a.Websites}, {r.kb, &a.OtherKbIntegrations},
		{r.apiTools, &a.APITools}, {r.fa, &a.FrontendActions}, {r.mcps, &a.MCPServers},
	} {
		if err := decodeStrings(f.src, f.dst); err != nil {
			return store.Agent{}, fmt.Errorf("agent %s: decoding stored JSON: %w", a.UID, err)
		}
	}
	for _, f := range []struct {
		src string
		dst *map[string]any
	}{{r.meta, &a.MetaData}, {r.modelMeta, &a.ModelMetaData}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return store.Agent{}, fmt.Errorf("agent %s: decoding stored JSON: %w", a.UID, err)
		}
	}
	if err := json.Unmarshal([]byte(r.gw), &a.Gateway); err != nil {
		return store.Agent{}, fmt.Errorf("agent %s: decoding stored JSON: %w", a.UID, err)
	}
	a.Normalize()
	return a, nil
}

func scanAgent(sc Scanner) (store.Agent, error) {
	r, err := scanAgentRow(sc)
	if err != nil {
		return store.Agent{}, err
	}
	return r.decode()
}

// getAgent reads an agent; forWrite holds its row lock (where the dialect has them) for the
// rest of the transaction.
func (s *Store) getAgent(ctx context.Context, q Querier, appID, uid string, forWrite bool) (store.Agent, error) {
	query := s.q.getAgent
	if forWrite {
		// The attached list is a column of the agent row (0012), so a locking read that
		// waited for another writer sees it as that writer left it.
		query = s.q.getAgentForWrite
	}
	a, err := scanAgent(q.QueryRow(ctx, query, appID, uid))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Agent{}, notFound("agent", uid)
	}
	return a, err
}

// checkServers returns *store.UnknownMCPServersError unless every slug exists in the app;
// with row locks it KEY SHARE locks them.
func (s *Store) checkServers(ctx context.Context, q Querier, appID string, slugs []string) error {
	have, err := s.serversIn(ctx, q, appID, slugs)
	if err != nil {
		return err
	}
	return store.Unknown(slugs, have)
}

// serversIn returns which of slugs exist in the app; with row locks it KEY SHARE locks them.
func (s *Store) serversIn(ctx context.Context, q Querier, appID string, slugs []string) (map[string]bool, error) {
	have := make(map[string]bool, len(slugs))
	if len(slugs) == 0 {
		return have, nil
	}
	query, args, fn := s.serversQuery(appID, slugs, have)
	return have, q.Query(ctx, query, args, fn)
}

// serversInLater is serversIn sent with q's next statement where q can hold a query back
// (PostgreSQL: one round trip less); have is complete once that statement has run, and the
// query's error is that statement's.
func (s *Store) serversInLater(ctx context.Context, q Querier, appID string, slugs []string) (map[string]bool, error) {
	d, ok := q.(QueryDeferrer)
	if !ok || len(slugs) == 0 {
		return s.serversIn(ctx, q, appID, slugs)
	}
	have := make(map[string]bool, len(slugs))
	query, args, fn := s.serversQuery(appID, slugs, have)
	d.DeferQuery(query, args, fn)
	return have, nil
}

// serversQuery is the query of which slugs exist, and a reader that fills have with them.
func (s *Store) serversQuery(appID string, slugs []string, have map[string]bool) (string, []any, func(Scanner) error) {
	query, args := s.q.checkServers, []any{appID, s.d.List(slugs)}
	if len(slugs) == 1 {
		query, args = s.q.checkServer, []any{appID, slugs[0]}
	}
	return query, args, func(sc Scanner) error {
		var slug string
		err := sc.Scan(&slug)
		have[slug] = true
		return err
	}
}

// agentForAttach reads the agent a write will attach slugs to and checks the slugs: a
// missing agent is ErrNotFound before any unknown slug. With row locks the servers' locks
// come before the agent's. Without forWrite it reads outside a transaction (q is s.read).
func (s *Store) agentForAttach(ctx context.Context, q Querier, appID, uid string, slugs []string, forWrite bool) (store.Agent, error) {
	if !forWrite || !s.d.RowLocks {
		var cur store.Agent
		var err error
		if forWrite {
			cur, err = s.lockAgent(ctx, q, appID, uid)
		} else {
			cur, err = s.readAgent(ctx, appID, uid)
		}
		if err != nil {
			return store.Agent{}, err
		}
		return cur, s.checkServers(ctx, q, appID, slugs)
	}
	checked := s.checkServers(ctx, q, appID, slugs)
	var unknown *store.UnknownMCPServersError
	if checked != nil && !errors.As(checked, &unknown) {
		return store.Agent{}, checked
	}
	cur, err := s.lockAgent(ctx, q, appID, uid)
	if err != nil {
		return store.Agent{}, err
	}
	return cur, checked
}

// notAttached returns the slugs of want (deduplicated) that have is without.
func notAttached(have, want []string) []string {
	var add []string
	for _, slug := range store.Dedup(want) {
		if !slices.Contains(have, slug) {
			add = append(add, slug)
		}
	}
	return add
}

// without returns have less the slugs of drop, in order, and whether any was dropped.
func without(have, drop []string) ([]string, bool) {
	out := make([]string, 0, len(have))
	for _, slug := range have {
		if !slices.Contains(drop, slug) {
			out = append(out, slug)
		}
	}
	return out, len(out) != len(have)
}

// appendServers attaches slugs (checked, deduplicated, not yet attached) after the agent's
// last position.
func (s *Store) appendServers(ctx context.Context, q Querier, appID, uid string, slugs []string) error {
	switch len(slugs) {
	case 0:
		return nil
	case 1: // the common case, without json_each or unnest
		return later(ctx, q, s.q.appendServer, appID, uid, slugs[0], appID, uid)
	}
	return later(ctx, q, s.q.appendServers, appID, uid, appID, uid, s.d.List(slugs))
}

// detachServers detaches slugs (the one slug of the common case without json_each or unnest).
func (s *Store) detachServers(ctx context.Context, q Querier, appID, uid string, slugs []string) error {
	if len(slugs) == 1 {
		return later(ctx, q, s.q.detachOne, appID, uid, slugs[0])
	}
	return later(ctx, q, s.q.detach, appID, uid, s.d.List(slugs))
}

func (s *Store) CreateAgent(ctx context.Context, a store.Agent) (store.Agent, error) {
	if err := store.CheckGateway(a.Gateway, a.MCPServers); err != nil {
		return store.Agent{}, err
	}
	a.Normalize()
	var out store.Agent
	err := s.tx(ctx, func(q Querier) error {
		if s.d.RowLocks {
			// Refused before any lock is taken; the servers' locks come before the app's.
			taken, err := exists(ctx, q, "SELECT EXISTS (SELECT 1 FROM agents WHERE app_id = ? AND uid = ?)", a.AppID, a.UID)
			if err != nil {
				return err
			}
			if taken {
				return fmt.Errorf("agent %q: %w", a.UID, store.ErrConflict)
			}
			if err := s.checkServers(ctx, q, a.AppID, a.MCPServers); err != nil {
				return err
			}
		}
		t, err := s.tick(ctx, q, a.AppID)
		if err != nil {
			return err
		}
		mcps := store.Dedup(a.MCPServers)
		n, err := q.Exec(ctx, `INSERT INTO agents (app_id, uid, name, icon, is_active, description,
			tools, files, websites, other_kb_integrations, api_tools, frontend_actions,
			rag_version, last_message_at, instruction, meta_data, model, model_meta_data, created_at, updated_at, mcp_servers, gateway)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, uid) DO NOTHING`,
			a.AppID, a.UID, a.Name, a.Icon, a.IsActive, a.Description,
			JSONText(a.Tools), JSONText(a.Files), JSONText(a.Websites), JSONText(a.OtherKbIntegrations), JSONText(a.APITools), JSONText(a.FrontendActions),
			a.RagVersion, a.Instruction, JSONText(a.MetaData), a.Model, JSONText(a.ModelMetaData), t, t, JSONText(mcps), JSONText(a.Gateway))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("agent %q: %w", a.UID, store.ErrConflict)
		}
		if !s.d.RowLocks {
			if err := s.checkServers(ctx, q, a.AppID, a.MCPServers); err != nil {
				return err
			}
		}
		if err := s.checkToolNames(ctx, q, a.AppID, mcps, addedServers(store.Agent{}, store.Agent{MCPServers: mcps, Gateway: a.Gateway})); err != nil {
			return err
		}
		if err := s.appendServers(ctx, q, a.AppID, a.UID, mcps); err != nil {
			return err
		}
		if out, err = s.getAgent(ctx, q, a.AppID, a.UID, false); err != nil {
			return err
		}
		return audit(ctx, q, a.AppID, store.AuditAgentCreate, store.AgentTarget(a.UID), nil, out)
	})
	return s.committed(out, err)
}

func (s *Store) GetAgent(ctx context.Context, appID, uid string) (store.Agent, error) {
	return s.readAgent(ctx, appID, uid)
}

func (s *Store) UpdateAgent(ctx context.Context, appID, uid string, p store.AgentPatch, pre store.Precondition) (store.Agent, error) {
	var out store.Agent
	err := s.tx(ctx, func(q Querier) error {
		var cur store.Agent
		var err error
		if p.MCPServers != nil {
			cur, err = s.agentForAttach(ctx, q, appID, uid, *p.MCPServers, true)
		} else {
			cur, err = s.lockAgent(ctx, q, appID, uid)
		}
		if err != nil {
			return err
		}
		if err := pre.Check(store.AgentVersion(cur)); err != nil {
			return err
		}
		next, changed := p.Apply(cur)
		if p.MCPServers != nil {
			next.MCPServers = store.Dedup(*p.MCPServers)
		}
		if p.GatewayServers != nil || p.Pinning != nil {
			if err := store.CheckGateway(next.Gateway, next.MCPServers); err != nil {
				return err
			}
		}
		if err := s.checkToolNames(ctx, q, appID, next.MCPServers, addedServers(cur, next)); err != nil {
			return err
		}
		if p.MCPServers != nil {
			if want := next.MCPServers; !slices.Equal(want, cur.MCPServers) {
				if _, err := q.Exec(ctx, "DELETE FROM agent_mcp_servers WHERE app_id = ? AND agent_uid = ?", appID, uid); err != nil {
					return err
				}
				if err := s.appendServers(ctx, q, appID, uid, want); err != nil {
					return err
				}
				changed = true
			}
		}
		if !changed {
			out = cur
			return nil
		}
		if _, err := q.Exec(ctx, s.q.updateAgent,
			next.Name, next.Icon, next.IsActive, next.Description,
			JSONText(next.Tools), JSONText(next.Files), JSONText(next.Websites), JSONText(next.OtherKbIntegrations), JSONText(next.APITools), JSONText(next.FrontendActions),
			next.RagVersion, next.Instruction, JSONText(next.MetaData), next.Model, JSONText(next.ModelMetaData), JSONText(next.MCPServers),
			JSONText(next.Gateway), store.NowMillis(), appID, uid); err != nil {
			return err
		}
		if out, err = s.getAgent(ctx, q, appID, uid, false); err != nil {
			return err
		}
		return audit(ctx, q, appID, store.AuditAgentUpdate, store.AgentTarget(uid), cur, out)
	})
	return s.committed(out, err)
}

// committed keeps an agent a write returns once the write has committed.
func (s *Store) committed(a store.Agent, err error) (store.Agent, error) {
	if err == nil {
		s.agents.put(a)
	}
	return a, err
}

func (s *Store) DeleteAgent(ctx context.Context, appID, uid string, pre store.Precondition) error {
	defer s.agents.drop(appID, uid)
	return s.tx(ctx, func(q Querier) error {
		cur, err := s.lockAgent(ctx, q, appID, uid)
		if err != nil {
			return err
		}
		if err := pre.Check(store.AgentVersion(cur)); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, "DELETE FROM agents WHERE app_id = ? AND uid = ?", appID, uid); err != nil {
			return err
		}
		// Its keys die with it: an agent made again with this uid starts with none.
		if _, err := q.Exec(ctx, "UPDATE api_keys SET revoked_at = ? WHERE app_id = ? AND agent_uid = ? AND revoked_at = 0",
			store.NowMillis(), appID, uid); err != nil {
			return err
		}
		return audit(ctx, q, appID, store.AuditAgentDelete, store.AgentTarget(uid), cur, nil)
	})
}

func (s *Store) ListAgents(ctx context.Context, appID string, p store.Page) ([]store.Agent, error) {
	query, args, reverse := PageSQL(s.q.listAgents, "a.", appID, p)
	return listPage(ctx, s.read, query, args, reverse, p.Limit, scanAgent)
}

// AttachMCPServers and DetachMCPServers first read the agent outside a transaction: a call
// that changes nothing (every slug attached already, none attached, an unknown slug, no such
// agent) is answered from that read, which a later write could not contradict, without
// waiting for the writer (SQLite has one) or for the agent's row lock. Only the others write,
// together with the agent's other concurrent changes (agentwrites.go); they find the agent
// in the cache that read filled, and know what they wrote.
//
// A cached agent by which the call changes something goes to the write at once, unchecked:
// the write reads the agent again under the lock and changes nothing if, after all, there
// is nothing to change (or fails, if the agent or a slug is gone). Only an answer given
// without writing needs the checked read.
func (s *Store) AttachMCPServers(ctx context.Context, appID, uid string, slugs []string) (store.Agent, error) {
	if c, ok := s.agents.get(appID, uid); ok && len(notAttached(c.MCPServers, slugs)) > 0 {
		return s.changeAgent(ctx, appID, uid, false, slugs)
	}
	seen, err := s.agentForAttach(ctx, s.read, appID, uid, slugs, false)
	if err != nil || len(notAttached(seen.MCPServers, slugs)) == 0 {
		return seen, err
	}
	return s.changeAgent(ctx, appID, uid, false, slugs)
}

func (s *Store) DetachMCPServers(ctx context.Context, appID, uid string, slugs []string) (store.Agent, error) {
	if c, ok := s.agents.get(appID, uid); ok {
		if _, dropped := without(c.MCPServers, slugs); dropped {
			return s.changeAgent(ctx, appID, uid, true, slugs)
		}
	}
	seen, err := s.readAgent(ctx, appID, uid)
	if err != nil {
		return store.Agent{}, err
	}
	if _, dropped := without(seen.MCPServers, slugs); !dropped {
		return seen, nil
	}
	return s.changeAgent(ctx, appID, uid, true, slugs)
}

func (s *Store) AgentMCPServers(ctx context.Context, appID, uid string) ([]store.MCPServer, error) {
	var out []store.MCPServer
	// One snapshot: the agent and its servers agree.
	err := s.snap(ctx, func(q Querier) error {
		if _, err := s.getAgent(ctx, q, appID, uid, false); err != nil {
			return err
		}
		var err error
		out, err = Collect(ctx, q, `SELECT `+serverFields+`
			FROM agent_mcp_servers m JOIN mcp_servers s ON s.app_id = m.app_id AND s.slug = m.slug
			LEFT JOIN mcp_server_probes p ON p.app_id = s.app_id AND p.slug = s.slug
			WHERE m.app_id = ? AND m.agent_uid = ? ORDER BY m.position`, []any{appID, uid}, scanServer)
		return err
	})
	return out, err
}
