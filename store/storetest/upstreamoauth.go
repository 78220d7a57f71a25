package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agentmcp/agentmcp/store"
)

func upstreamOAuthStore(t *testing.T, st store.Store) store.UpstreamOAuthStore {
	t.Helper()
	o, ok := st.(store.UpstreamOAuthStore)
	if !ok {
		t.Skipf("%T keeps no upstream OAuth store (store.UpstreamOAuthStore is the SQL backends')", st)
	}
	return o
}

// testUpstreamOAuth: a state is taken once and not after it expires; a connection is
// written only over the version its writer read; a lease holds it against other
// refreshers until it ends or the row moves; both go with their server.
func testUpstreamOAuth(t *testing.T, st store.Store) {
	ctx := context.Background()
	o := upstreamOAuthStore(t, st)
	mustApp(t, st, "app1")
	mustCreate(t, st, "app1", "s1")
	now := store.NowMillis()

	h := store.HashKey("state-1")
	if err := o.PutOAuthState(ctx, store.OAuthState{Hash: h, AppID: "app1", Slug: "s1", Sealed: store.Sealed{KeyID: "k1", Value: []byte("v")}, ExpiresAt: now + 600_000}); err != nil {
		t.Fatal(err)
	}
	got, err := o.TakeOAuthState(ctx, h, now)
	if err != nil || got.AppID != "app1" || got.Slug != "s1" || string(got.Sealed.Value) != "v" || got.Hash != h {
		t.Fatalf("TakeOAuthState = %+v, %v", got, err)
	}
	if _, err := o.TakeOAuthState(ctx, h, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a state taken twice: %v, want ErrNotFound", err)
	}
	old := store.HashKey("state-old")
	if err := o.PutOAuthState(ctx, store.OAuthState{Hash: old, AppID: "app1", Slug: "s1", Sealed: store.Sealed{KeyID: "k1", Value: []byte("v")}, ExpiresAt: now - 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.TakeOAuthState(ctx, old, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an expired state: %v, want ErrNotFound", err)
	}

	if _, err := o.GetOAuthConnection(ctx, "app1", "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no connection yet: %v", err)
	}
	if _, err := o.SaveOAuthConnection(ctx, store.OAuthConnection{AppID: "app1", Slug: "nope", Sealed: store.Sealed{KeyID: "k1", Value: []byte("t")}}, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a connection of no server: %v, want ErrNotFound", err)
	}
	c, err := o.SaveOAuthConnection(ctx, store.OAuthConnection{AppID: "app1", Slug: "s1", Sealed: store.Sealed{KeyID: "k1", Value: []byte("t1")}, ExpiresAt: now + 1000, Scopes: "a b"}, 0)
	if err != nil || c.Version != 1 {
		t.Fatalf("first save: %+v, %v", c, err)
	}
	if _, err := o.SaveOAuthConnection(ctx, c, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second first save: %v, want ErrConflict", err)
	}
	if ok, err := o.LeaseOAuthConnection(ctx, "app1", "s1", 1, now, now+30_000); !ok || err != nil {
		t.Fatalf("lease: %v, %v", ok, err)
	}
	if ok, _ := o.LeaseOAuthConnection(ctx, "app1", "s1", 1, now+1, now+30_000); ok {
		t.Fatal("a second lease while the first holds")
	}
	if ok, _ := o.LeaseOAuthConnection(ctx, "app1", "s1", 1, now+30_000, now+60_000); !ok {
		t.Fatal("a lease once the first ended")
	}
	c.Sealed.Value = []byte("t2")
	c2, err := o.SaveOAuthConnection(ctx, c, 1)
	if err != nil || c2.Version != 2 {
		t.Fatalf("save over version 1: %+v, %v", c2, err)
	}
	if _, err := o.SaveOAuthConnection(ctx, c, 1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("save over a stale version: %v, want ErrConflict", err)
	}
	if ok, _ := o.LeaseOAuthConnection(ctx, "app1", "s1", 1, now, now+30_000); ok {
		t.Fatal("a lease of a stale version")
	}
	if err := o.SetOAuthStepUp(ctx, "app1", "s1", "a b c"); err != nil {
		t.Fatal(err)
	}
	got2, err := o.GetOAuthConnection(ctx, "app1", "s1")
	if err != nil || got2.Version != 2 || string(got2.Sealed.Value) != "t2" || got2.StepUp != "a b c" || got2.Scopes != "a b" || got2.LeaseUntil != 0 || got2.ExpiresAt != now+1000 {
		t.Fatalf("GetOAuthConnection = %+v, %v", got2, err)
	}
	if err := st.DeleteDataKey(ctx, "k1"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("deleting the data key tokens are sealed under: %v, want ErrConflict", err)
	}

	if err := o.PutOAuthState(ctx, store.OAuthState{Hash: store.HashKey("state-2"), AppID: "app1", Slug: "s1", Sealed: store.Sealed{KeyID: "k1", Value: []byte("v")}, ExpiresAt: now + 600_000}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMCPServer(ctx, "app1", "s1", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.GetOAuthConnection(ctx, "app1", "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the connection outlived its server: %v", err)
	}
	if _, err := o.TakeOAuthState(ctx, store.HashKey("state-2"), now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a state outlived its server: %v", err)
	}
}

// testUpstreamOAuthRefreshRace: of many refreshers that read the same version, exactly one
// gets the lease and exactly one save over that version lands.
func testUpstreamOAuthRefreshRace(t *testing.T, st store.Store) {
	ctx := context.Background()
	o := upstreamOAuthStore(t, st)
	mustApp(t, st, "app1")
	mustCreate(t, st, "app1", "s1")
	now := store.NowMillis()
	c, err := o.SaveOAuthConnection(ctx, store.OAuthConnection{AppID: "app1", Slug: "s1", Sealed: store.Sealed{KeyID: "k1", Value: []byte("t1")}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var leases, saves atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if ok, err := o.LeaseOAuthConnection(ctx, "app1", "s1", c.Version, now, now+30_000); err != nil {
				t.Error(err)
			} else if ok {
				leases.Add(1)
			}
			if _, err := o.SaveOAuthConnection(ctx, c, c.Version); err == nil {
				saves.Add(1)
			} else if !errors.Is(err, store.ErrConflict) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if leases.Load() != 1 || saves.Load() != 1 {
		t.Fatalf("%d leases and %d saves over one version, want 1 and 1", leases.Load(), saves.Load())
	}
}
