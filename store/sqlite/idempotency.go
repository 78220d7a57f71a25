package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentmcp/agentmcp/store"
)

func (s *Store) BeginIdempotent(ctx context.Context, appID, key, hash string, now, staleBefore, expireBefore int64) (store.Idempotent, bool, error) {
	var rec store.Idempotent
	started := false
	err := s.inTx(ctx, func(tx querier) error {
		err := tx.QueryRowContext(ctx, "SELECT request_hash, status, body, etag, created_at FROM idempotency_keys WHERE app_id = ? AND key = ?", appID, key).
			Scan(&rec.RequestHash, &rec.Status, &rec.Body, &rec.ETag, &rec.CreatedAt)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case rec.CreatedAt >= expireBefore && (rec.Status != 0 || rec.CreatedAt >= staleBefore):
			return nil // someone else's, answered or still running
		}
		started = true
		_, err = tx.ExecContext(ctx, `INSERT INTO idempotency_keys (app_id, key, request_hash, status, body, etag, created_at) VALUES (?, ?, ?, 0, '', '', ?)
			ON CONFLICT (app_id, key) DO UPDATE SET request_hash = excluded.request_hash, status = 0, body = '', etag = '', created_at = excluded.created_at`,
			appID, key, hash, now)
		return err
	})
	return rec, started, err
}

func (s *Store) GetIdempotent(ctx context.Context, appID, key string) (store.Idempotent, error) {
	var rec store.Idempotent
	err := s.rq.QueryRowContext(ctx, "SELECT request_hash, status, body, etag, created_at FROM idempotency_keys WHERE app_id = ? AND key = ?", appID, key).
		Scan(&rec.RequestHash, &rec.Status, &rec.Body, &rec.ETag, &rec.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, fmt.Errorf("idempotency key: %w", store.ErrNotFound)
	}
	return rec, err
}

func (s *Store) FinishIdempotent(ctx context.Context, appID, key string, status int, body, etag string) error {
	_, err := s.wq.ExecContext(ctx, "UPDATE idempotency_keys SET status = ?, body = ?, etag = ? WHERE app_id = ? AND key = ?", status, body, etag, appID, key)
	return err
}

func (s *Store) AbandonIdempotent(ctx context.Context, appID, key string) error {
	_, err := s.wq.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE app_id = ? AND key = ? AND status = 0", appID, key)
	return err
}

func (s *Store) PurgeIdempotency(ctx context.Context, before int64) (int64, error) {
	res, err := s.wq.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE created_at < ?", before)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
