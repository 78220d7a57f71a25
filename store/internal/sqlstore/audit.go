package sqlstore

import (
	"context"
	"database/sql"

	"github.com/agentmcp/agentmcp/store"
)

// audit records a write in its transaction.
func audit(ctx context.Context, q Querier, appID, action, target string, before, after any) error {
	a := store.ActorFrom(ctx)
	return later(ctx, q, `INSERT INTO audit_events (app_id, key_id, action, target, at, request_id, before, after)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, appID, a.KeyID, action, target, store.NowMillis(), a.RequestID,
		nullable(store.AuditJSON(before)), nullable(store.AuditJSON(after)))
}

func (s *Store) ListAuditEvents(ctx context.Context, appID string, q store.AuditQuery) ([]store.AuditEvent, error) {
	query := "SELECT id, app_id, key_id, action, target, at, request_id, before, after FROM audit_events WHERE app_id = ?"
	args := []any{appID}
	if q.Before > 0 {
		query += " AND id < ?"
		args = append(args, q.Before)
	}
	if q.Target != "" {
		query += " AND target = ?"
		args = append(args, q.Target)
	}
	if q.Action != "" {
		query += " AND action = ?"
		args = append(args, q.Action)
	}
	return listPage(ctx, s.read, query+" ORDER BY id DESC LIMIT ?", append(args, q.Limit), false, 0, func(sc Scanner) (store.AuditEvent, error) {
		var e store.AuditEvent
		var before, after sql.NullString
		err := sc.Scan(&e.ID, &e.AppID, &e.KeyID, &e.Action, &e.Target, &e.At, &e.RequestID, &before, &after)
		if before.Valid {
			e.Before = []byte(before.String)
		}
		if after.Valid {
			e.After = []byte(after.String)
		}
		return e, err
	})
}
