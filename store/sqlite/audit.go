package sqlite

import (
	"context"

	"github.com/agentmcp/agentmcp/store"
)

// audit records a write in its transaction.
func audit(ctx context.Context, tx querier, appID, action, target string, before, after any) error {
	a := store.ActorFrom(ctx)
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_events (app_id, key_id, action, target, at, request_id, before, after)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, appID, a.KeyID, action, target, store.NowMillis(), a.RequestID,
		nullable(store.AuditJSON(before)), nullable(store.AuditJSON(after)))
	return err
}

func nullable(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

func (s *Store) ListAuditEvents(ctx context.Context, appID string, q store.AuditQuery) ([]store.AuditEvent, error) {
	sql := "SELECT id, app_id, key_id, action, target, at, request_id, before, after FROM audit_events WHERE app_id = ?"
	args := []any{appID}
	if q.Before > 0 {
		sql += " AND id < ?"
		args = append(args, q.Before)
	}
	if q.Target != "" {
		sql += " AND target = ?"
		args = append(args, q.Target)
	}
	if q.Action != "" {
		sql += " AND action = ?"
		args = append(args, q.Action)
	}
	rows, err := s.rq.QueryContext(ctx, sql+" ORDER BY id DESC LIMIT ?", append(args, q.Limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.AuditEvent{}
	for rows.Next() {
		var e store.AuditEvent
		var before, after *string
		if err := rows.Scan(&e.ID, &e.AppID, &e.KeyID, &e.Action, &e.Target, &e.At, &e.RequestID, &before, &after); err != nil {
			return nil, err
		}
		if before != nil {
			e.Before = []byte(*before)
		}
		if after != nil {
			e.After = []byte(*after)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
