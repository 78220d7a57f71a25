package store

import "context"

// Idempotent is a stored idempotency key: Status 0 while its first request runs.
type Idempotent struct {
	RequestHash string
	Status      int
	Body        string
	ETag        string
	CreatedAt   int64
}

// IdempotencyStore keeps idempotency keys so that a retried create is replayed, across
// replicas and restarts.
type IdempotencyStore interface {
	// BeginIdempotent claims (app, key) for a request with hash at now. started is true when
	// the caller must run the request (a new key, or one whose holder vanished before
	// staleBefore, or one older than expireBefore); otherwise rec is the key as stored.
	BeginIdempotent(ctx context.Context, appID, key, hash string, now, staleBefore, expireBefore int64) (rec Idempotent, started bool, err error)
	// GetIdempotent reads a key (ErrNotFound if none).
	GetIdempotent(ctx context.Context, appID, key string) (Idempotent, error)
	// FinishIdempotent stores the response of the request that began the key.
	FinishIdempotent(ctx context.Context, appID, key string, status int, body, etag string) error
	// AbandonIdempotent forgets a key whose request failed without a response to keep.
	AbandonIdempotent(ctx context.Context, appID, key string) error
	// PurgeIdempotency deletes keys created before before; it returns how many.
	PurgeIdempotency(ctx context.Context, before int64) (int64, error)
	// CountIdempotent counts the keys an app holds, stopping at limit.
	CountIdempotent(ctx context.Context, appID string, limit int) (int, error)
}
