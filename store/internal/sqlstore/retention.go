package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"
)

// purgeBatch is how many rows one DELETE removes, so no write runs long (SQLite's single
// writer is never held long).
const purgeBatch = 5000

// PurgeAuditEvents deletes the events recorded before before. Events are appended in clock
// order, so those are the lowest ids: the first young event in id order (a scan that stops
// there) bounds a range of ids, deleted in batches. `at < before` is checked too, so a clock
// that stepped back (or a replica's that is behind) never costs a young event.
func (s *Store) PurgeAuditEvents(ctx context.Context, before int64) (int64, error) {
	var cutoff int64
	err := s.read.QueryRow(ctx, "SELECT id FROM audit_events WHERE at >= ? ORDER BY id LIMIT 1", before).Scan(&cutoff)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		cutoff = math.MaxInt64
	case err != nil:
		return 0, err
	}
	var total int64
	for {
		n, err := s.write.Exec(ctx, `DELETE FROM audit_events WHERE id IN
			(SELECT id FROM audit_events WHERE id < ? AND at < ? ORDER BY id LIMIT ?)`, cutoff, before, purgeBatch)
		total += n
		if err != nil || n < purgeBatch {
			return total, err
		}
	}
}

// CountIdempotent counts an app's idempotency keys, reading at most limit of them.
func (s *Store) CountIdempotent(ctx context.Context, appID string, limit int) (int, error) {
	var n int
	err := s.read.QueryRow(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM idempotency_keys WHERE app_id = ? LIMIT ?) k", appID, limit).Scan(&n)
	return n, err
}
