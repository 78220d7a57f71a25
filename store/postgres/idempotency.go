package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/agentmcp/agentmcp/store"
)

func (s *Store) BeginIdempotent(ctx context.Context, appID, key, hash string, now, staleBefore, expireBefore int64) (store.Idempotent, bool, error) {
	var rec store.Idempotent
	started := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rec, started = store.Idempotent{}, false
		// Insert or lock the row, so two replicas never both start the same key.
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (app_id, key, request_hash, status, body, etag, created_at)
			VALUES ($1, $2, $3, 0, '', '', $4) ON CONFLICT (app_id, key) DO NOTHING`, appID, key, hash, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			started = true
			return nil
		}
		err = tx.QueryRow(ctx, "SELECT request_hash, status, body, etag, created_at FROM idempotency_keys WHERE app_id = $1 AND key = $2 FOR UPDATE", appID, key).
			Scan(&rec.RequestHash, &rec.Status, &rec.Body, &rec.ETag, &rec.CreatedAt)
		if err != nil {
			return err
		}
		if rec.CreatedAt >= expireBefore && (rec.Status != 0 || rec.CreatedAt >= staleBefore) {
			return nil
		}
		started = true
		_, err = tx.Exec(ctx, "UPDATE idempotency_keys SET request_hash = $3, status = 0, body = '', etag = '', created_at = $4 WHERE app_id = $1 AND key = $2", appID, key, hash, now)
		return err
	})
	return rec, started, err
}

func (s *Store) GetIdempotent(ctx context.Context, appID, key string) (store.Idempotent, error) {
	var rec store.Idempotent
	err := s.pool.QueryRow(ctx, "SELECT request_hash, status, body, etag, created_at FROM idempotency_keys WHERE app_id = $1 AND key = $2", appID, key).
		Scan(&rec.RequestHash, &rec.Status, &rec.Body, &rec.ETag, &rec.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return rec, fmt.Errorf("idempotency key: %w", store.ErrNotFound)
	}
	return rec, wrap(err)
}

func (s *Store) FinishIdempotent(ctx context.Context, appID, key string, status int, body, etag string) error {
	_, err := s.pool.Exec(ctx, "UPDATE idempotency_keys SET status = $3, body = $4, etag = $5 WHERE app_id = $1 AND key = $2", appID, key, status, body, etag)
	return wrap(err)
}

func (s *Store) AbandonIdempotent(ctx context.Context, appID, key string) error {
	_, err := s.pool.Exec(ctx, "DELETE FROM idempotency_keys WHERE app_id = $1 AND key = $2 AND status = 0", appID, key)
	return wrap(err)
}

func (s *Store) PurgeIdempotency(ctx context.Context, before int64) (int64, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM idempotency_keys WHERE created_at < $1", before)
	if err != nil {
		return 0, wrap(err)
	}
	return tag.RowsAffected(), nil
}
