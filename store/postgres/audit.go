package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/agentmcp/agentmcp/store"
)

// audit records a write in its transaction.
func audit(ctx context.Context, tx pgx.Tx, appID, action, target string, before, after any) error {
	a := store.ActorFrom(ctx)
	_, err := tx.Exec(ctx, `INSERT INTO audit_events (app_id, key_id, action, target, at, request_id, before, after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, appID, a.KeyID, action, target, store.NowMillis(), a.RequestID,
		nullable(store.AuditJSON(before)), nullable(store.AuditJSON(after)))
	return err
}

func nullable(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

func (s *Store) ListAuditEvents(ctx context.Context, appID string, q store.AuditQuery) ([]store.AuditEvent, error) {
	events, err := collect(ctx, s.pool, `SELECT id, app_id, key_id, action, target, at, request_id, before, after FROM audit_events
		WHERE app_id = $1 AND ($2 = 0 OR id < $2) AND ($3 = '' OR target = $3) AND ($4 = '' OR action = $4)
		ORDER BY id DESC LIMIT $5`, []any{appID, q.Before, q.Target, q.Action, q.Limit}, func(sc scanner) (store.AuditEvent, error) {
		var e store.AuditEvent
		var before, after *string
		err := sc.Scan(&e.ID, &e.AppID, &e.KeyID, &e.Action, &e.Target, &e.At, &e.RequestID, &before, &after)
		if before != nil {
			e.Before = []byte(*before)
		}
		if after != nil {
			e.After = []byte(*after)
		}
		return e, err
	})
	if events == nil && err == nil {
		events = []store.AuditEvent{}
	}
	return events, err
}
