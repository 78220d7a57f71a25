package auth

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/sqlite"
)

type countingStore struct {
	store.Store
	lookups atomic.Int64
}

func (c *countingStore) LookupAPIKey(ctx context.Context, h [32]byte) (store.APIKey, error) {
	c.lookups.Add(1)
	return c.Store.LookupAPIKey(ctx, h)
}

// The cache saves the DB round trip within the TTL and sees a revocation after it.
func TestKeyCache(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	k, secret := store.NewAPIKey("a", store.ScopeFullAccess)
	if err := db.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: db}
	c := NewAPIKeys(cs, 10*time.Second)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }

	for range 5 {
		got, err := c.Verify(ctx, secret)
		if err != nil || got.KeyID != k.ID || got.AppID != "a" || got.Scope != store.ScopeFullAccess {
			t.Fatal(got, err)
		}
	}
	if n := cs.lookups.Load(); n != 1 {
		t.Fatalf("%d store lookups for 5 requests within the TTL, want 1", n)
	}
	if err := db.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	now = now.Add(9 * time.Second)
	if _, err := c.Verify(ctx, secret); err != nil {
		t.Fatal("the cache should still hold the key within its TTL:", err)
	}
	now = now.Add(2 * time.Second)
	if _, err := c.Verify(ctx, secret); !errors.Is(err, ErrInvalid) {
		t.Fatal("a revoked key is still valid after the TTL:", err)
	}
	// Unknown keys are not cached: a key created meanwhile works at once.
	if _, err := c.Verify(ctx, "amk_unknown"); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if n := cs.lookups.Load(); n != 3 {
		t.Fatalf("%d store lookups, want 3", n)
	}
}
