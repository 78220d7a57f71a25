package auth

import (
	"context"
	"errors"
	"fmt"
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

// downLookup is a key store that can be made unreachable.
type downLookup struct {
	KeyLookup
	down atomic.Bool
}

func (d *downLookup) LookupAPIKey(ctx context.Context, h [32]byte) (store.APIKey, error) {
	if d.down.Load() {
		return store.APIKey{}, fmt.Errorf("%w: connection refused", store.ErrUnavailable)
	}
	return d.KeyLookup.LookupAPIKey(ctx, h)
}

// fakeOutage is an outage whose state the test sets.
type fakeOutage struct{ serving, expired atomic.Bool }

func (f *fakeOutage) Serving() bool { return f.serving.Load() }
func (f *fakeOutage) Expired() bool { return f.expired.Load() }
func (f *fakeOutage) Served()       {}

// TestKeysThroughAnOutage: while the store is unreachable within the bound, a key seen
// before works however old its entry; a key never seen is the store's unavailability (a
// 503), not ErrInvalid (a 401); a key revoked before the outage (told by the feed) is
// refused; past the bound even a fresh entry does not answer; a reset forgets the valid
// keys but not the revocations.
func TestKeysThroughAnOutage(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.CreateApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	var secrets [4]string
	var keys [4]store.APIKey
	for i := range keys {
		keys[i], secrets[i] = store.NewAPIKey("a", store.ScopeFullAccess)
		if err := db.CreateAPIKey(ctx, keys[i]); err != nil {
			t.Fatal(err)
		}
	}
	valid, revoked, unseen, revokedLate := 0, 1, 2, 3
	st := &downLookup{KeyLookup: db}
	var outage fakeOutage
	c := NewAPIKeys(st, 10*time.Second, KeyOptions{Outage: &outage})
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	for _, i := range []int{valid, revoked, revokedLate} {
		if _, err := c.Verify(ctx, secrets[i]); err != nil {
			t.Fatal(err)
		}
	}
	// Revoked through another replica: the feed says so.
	if err := db.RevokeAPIKey(ctx, keys[revoked].ID); err != nil {
		t.Fatal(err)
	}
	c.Changed(store.Change{Kind: store.ChangeKey, Key: keys[revoked].ID})
	if _, err := c.Verify(ctx, secrets[revoked]); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a key the feed said revoked: %v, want ErrInvalid", err)
	}

	st.down.Store(true)
	outage.serving.Store(true)
	now = now.Add(time.Hour) // every entry long past its TTL
	if p, err := c.Verify(ctx, secrets[valid]); err != nil || p.KeyID != keys[valid].ID {
		t.Fatalf("a known key during the outage: %+v %v", p, err)
	}
	if _, err := c.Verify(ctx, secrets[revoked]); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a revoked key during the outage: %v, want ErrInvalid", err)
	}
	if _, err := c.Verify(ctx, secrets[unseen]); !errors.Is(err, store.ErrUnavailable) || errors.Is(err, ErrInvalid) {
		t.Fatalf("a key never seen during the outage: %v, want ErrUnavailable", err)
	}
	// A revocation told during the outage (by a replica that could still write).
	c.Changed(store.Change{Kind: store.ChangeKey, Key: keys[revokedLate].ID})
	if _, err := c.Verify(ctx, secrets[revokedLate]); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a key revoked during the outage: %v, want ErrInvalid", err)
	}

	outage.serving.Store(false)
	outage.expired.Store(true)
	if _, err := c.Verify(ctx, secrets[valid]); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("a known key past the bound: %v, want ErrUnavailable", err)
	}

	st.down.Store(false)
	outage.expired.Store(false)
	c.Changed(store.Change{Kind: store.ChangeReset})
	if _, err := c.Verify(ctx, secrets[valid]); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	// The store does not know of revokedLate's revocation (its replica's write is not
	// here); the memory of it outlived the reset.
	if _, err := c.Verify(ctx, secrets[revokedLate]); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a remembered revocation after a reset: %v, want ErrInvalid", err)
	}
}
