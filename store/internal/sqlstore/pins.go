package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentmcp/agentmcp/store"
)

const pinColumns = "server_slug, kind, name, approved_hash, approved_def, pending_hash, pending_def, rejected, updated_at"

func scanPin(sc Scanner) (store.ToolPin, error) {
	var p store.ToolPin
	var adef, pdef string
	err := sc.Scan(&p.Server, &p.Kind, &p.Name, &p.Approved, &adef, &p.Pending, &pdef, &p.Rejected, &p.UpdatedAt)
	if adef != "" {
		p.ApprovedDef = []byte(adef)
	}
	if pdef != "" {
		p.PendingDef = []byte(pdef)
	}
	return p, err
}

type pinKey struct{ server, kind, name string }

func (s *Store) ListToolPins(ctx context.Context, appID, uid string) ([]store.ToolPin, error) {
	var out []store.ToolPin
	err := s.snap(ctx, func(q Querier) error {
		if _, err := s.getAgent(ctx, q, appID, uid, false); err != nil {
			return err
		}
		var err error
		out, err = s.pins(ctx, q, appID, uid)
		return err
	})
	return out, err
}

func (s *Store) pins(ctx context.Context, q Querier, appID, uid string) ([]store.ToolPin, error) {
	return Collect(ctx, q, "SELECT "+pinColumns+" FROM tool_pins WHERE app_id = ? AND agent_uid = ? ORDER BY server_slug, kind, name",
		[]any{appID, uid}, scanPin)
}

func (s *Store) ObserveToolPins(ctx context.Context, appID, uid string, seen []store.PinObservation) ([]store.ToolPin, error) {
	var out []store.ToolPin
	err := s.tx(ctx, func(q Querier) error {
		out = out[:0] // PostgreSQL may run this again
		// The agent's lock orders the replicas' observations: each sees the one before.
		if _, err := s.lockAgent(ctx, q, appID, uid); err != nil {
			return err
		}
		have, err := s.pins(ctx, q, appID, uid)
		if err != nil {
			return err
		}
		pins := make(map[pinKey]store.ToolPin, len(have))
		for _, p := range have {
			pins[pinKey{p.Server, p.Kind, p.Name}] = p
		}
		now := store.NowMillis()
		first := map[string]bool{}
		for _, o := range seen {
			if _, known := pins[pinKey{o.Server, store.PinServer, ""}]; known || first[o.Server] {
				continue
			}
			first[o.Server] = true
			if _, err := q.Exec(ctx, "INSERT INTO tool_pins (app_id, agent_uid, server_slug, kind, name, updated_at) VALUES (?, ?, ?, ?, '', ?)",
				appID, uid, o.Server, store.PinServer, now); err != nil {
				return err
			}
		}
		for _, o := range seen {
			k := pinKey{o.Server, o.Kind, o.Name}
			p, ok := pins[k]
			switch {
			case o.Kind == store.PinServer:
			case first[o.Server] && !ok: // first sight: pinned as it is
				if _, err := q.Exec(ctx, "INSERT INTO tool_pins (app_id, agent_uid, server_slug, kind, name, approved_hash, approved_def, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
					appID, uid, o.Server, o.Kind, o.Name, o.Hash, string(o.Def), now); err != nil {
					return err
				}
				pins[k] = store.ToolPin{Server: o.Server, Kind: o.Kind, Name: o.Name, Approved: o.Hash}
			case ok && o.Hash == p.Approved:
				if p.Pending != "" { // back as approved: nothing awaits
					if _, err := q.Exec(ctx, "UPDATE tool_pins SET pending_hash = '', pending_def = '', rejected = ?, updated_at = ? WHERE app_id = ? AND agent_uid = ? AND server_slug = ? AND kind = ? AND name = ?",
						false, now, appID, uid, o.Server, o.Kind, o.Name); err != nil {
						return err
					}
				}
			case ok && o.Hash == p.Pending:
			default:
				next := store.ToolPin{Server: o.Server, Kind: o.Kind, Name: o.Name, Approved: p.Approved, ApprovedDef: p.ApprovedDef,
					Pending: o.Hash, PendingDef: o.Def, UpdatedAt: now}
				var err error
				if ok {
					_, err = q.Exec(ctx, "UPDATE tool_pins SET pending_hash = ?, pending_def = ?, rejected = ?, updated_at = ? WHERE app_id = ? AND agent_uid = ? AND server_slug = ? AND kind = ? AND name = ?",
						o.Hash, string(o.Def), false, now, appID, uid, o.Server, o.Kind, o.Name)
				} else {
					_, err = q.Exec(ctx, "INSERT INTO tool_pins (app_id, agent_uid, server_slug, kind, name, pending_hash, pending_def, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
						appID, uid, o.Server, o.Kind, o.Name, o.Hash, string(o.Def), now)
				}
				if err != nil {
					return err
				}
				var before any
				if p.Approved != "" {
					before = definition(p.Server, p.Kind, p.Name, p.Approved, p.ApprovedDef, nil)
				}
				after := definition(o.Server, o.Kind, o.Name, o.Hash, o.Def, o.Flags)
				if err := audit(ctx, q, appID, store.AuditToolChanged, store.AgentTarget(uid), before, after); err != nil {
					return err
				}
				pins[k] = next
				out = append(out, next)
			}
		}
		return nil
	})
	return out, err
}

func definition(server, kind, name, hash string, def []byte, flags []string) store.AuditDefinition {
	return store.AuditDefinition{Server: server, Kind: kind, Name: name, Hash: hash, Definition: def, Flags: flags}
}

func (s *Store) DecideToolChange(ctx context.Context, appID, uid, hash string, approve bool) (store.ToolPin, error) {
	var out store.ToolPin
	err := s.tx(ctx, func(q Querier) error {
		if _, err := s.lockAgent(ctx, q, appID, uid); err != nil {
			return err
		}
		p, err := scanPin(q.QueryRow(ctx, "SELECT "+pinColumns+" FROM tool_pins WHERE app_id = ? AND agent_uid = ? AND pending_hash = ? AND pending_hash <> ''",
			appID, uid, hash))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !approve && p.Rejected) {
			return fmt.Errorf("change %q of agent %q: %w", hash, uid, store.ErrStaleChange)
		}
		if err != nil {
			return err
		}
		now := store.NowMillis()
		var before any
		if p.Approved != "" {
			before = definition(p.Server, p.Kind, p.Name, p.Approved, p.ApprovedDef, nil)
		}
		after := definition(p.Server, p.Kind, p.Name, p.Pending, p.PendingDef, nil)
		action := store.AuditToolRejected
		out = p
		out.UpdatedAt = now
		if approve {
			action = store.AuditToolApproved
			out.Approved, out.ApprovedDef, out.Pending, out.PendingDef, out.Rejected = p.Pending, p.PendingDef, "", nil, false
			_, err = q.Exec(ctx, "UPDATE tool_pins SET approved_hash = pending_hash, approved_def = pending_def, pending_hash = '', pending_def = '', rejected = ?, updated_at = ? WHERE app_id = ? AND agent_uid = ? AND server_slug = ? AND kind = ? AND name = ?",
				false, now, appID, uid, p.Server, p.Kind, p.Name)
		} else {
			out.Rejected = true
			_, err = q.Exec(ctx, "UPDATE tool_pins SET rejected = ?, updated_at = ? WHERE app_id = ? AND agent_uid = ? AND server_slug = ? AND kind = ? AND name = ?",
				true, now, appID, uid, p.Server, p.Kind, p.Name)
		}
		if err != nil {
			return err
		}
		return audit(ctx, q, appID, action, store.AgentTarget(uid), before, after)
	})
	return out, err
}
