package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentmcp/agentmcp/store"
)

func scanIdempotent(sc Scanner) (store.Idempotent, error) {
	var rec store.Idempotent
	err := sc.Scan(&rec.RequestHash, &rec.Status, &rec.Body, &rec.ETag, &rec.CreatedAt)
	return rec, err
}

func (s *Store) BeginIdempotent(ctx context.Context, appID, key, hash string, now, staleBefore, expireBefore int64) (store.Idempotent, bool, error) {
	var rec store.Idempotent
	started := false
	err := s.tx(ctx, func(q Querier) error {
		rec, started = store.Idempotent{}, false // a retried transaction starts afresh
		// Insert, or lock the row that is there: two requests never both start one key.
		n, err := q.Exec(ctx, `INSERT INTO idempotency_keys (app_id, key, request_hash, status, body, etag, created_at)
			VALUES (?, ?, ?, 0, '', '', ?) ON CONFLICT (app_id, key) DO NOTHING`, appID, key, hash, now)
		if err != nil {
			return err
		}
		if n == 1 {
			started = true
			return nil
		}
		if rec, err = scanIdempotent(q.QueryRow(ctx, s.q.idempotencyLock, appID, key)); err != nil {
			return err
		}
		if rec.CreatedAt >= expireBefore && (rec.Status != 0 || rec.CreatedAt >= staleBefore) {
			return nil // someone else's, answered or still running
		}
		started = true
		_, err = q.Exec(ctx, "UPDATE idempotency_keys SET request_hash = ?, status = 0, body = '', etag = '', created_at = ? WHERE app_id = ? AND key = ?",
			hash, now, appID, key)
		return err
	})
	return rec, started, err
}

func (s *Store) GetIdempotent(ctx context.Context, appID, key string) (store.Idempotent, error) {
	rec, err := scanIdempotent(s.read.QueryRow(ctx, idempotencySelect, appID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return rec, fmt.Errorf("idempotency key: %w", store.ErrNotFound)
	}
	return rec, err
}

func (s *Store) FinishIdempotent(ctx context.Context, appID, key string, status int, body, etag string) error {
	_, err := s.write.Exec(ctx, "UPDATE idempotency_keys SET status = ?, body = ?, etag = ? WHERE app_id = ? AND key = ?", status, body, etag, appID, key)
	return err
}

func (s *Store) AbandonIdempotent(ctx context.Context, appID, key string) error {
	_, err := s.write.Exec(ctx, "DELETE FROM idempotency_keys WHERE app_id = ? AND key = ? AND status = 0", appID, key)
	return err
}

func (s *Store) PurgeIdempotency(ctx context.Context, before int64) (int64, error) {
	return s.write.Exec(ctx, "DELETE FROM idempotency_keys WHERE created_at < ?", before)
}
