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

// testUpstreamOAuthReseal: a rotation counts, lists and re-seals OAuth tokens and states
// with the credentials; a connection renewed since it was listed keeps its new tokens.
func testUpstreamOAuthReseal(t *testing.T, st store.Store) {
	ctx := context.Background()
	o := upstreamOAuthStore(t, st)
	mustApp(t, st, "app1")
	mustCreate(t, st, "app1", "s1")
	now := store.NowMillis()
	c, err := o.SaveOAuthConnection(ctx, store.OAuthConnection{AppID: "app1", Slug: "s1", Sealed: store.Sealed{KeyID: "k1", Value: []byte("t1")}, Scopes: "a"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := store.HashKey("state-r")
	if err := o.PutOAuthState(ctx, store.OAuthState{Hash: h, AppID: "app1", Slug: "s1", Sealed: store.Sealed{KeyID: "k1", Value: []byte("p")}, ExpiresAt: now + 600_000}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.CountSealed(ctx); err != nil || n["k1"] != 2 {
		t.Fatalf("CountSealed = %v, %v; want k1: 2 (tokens and a state)", n, err)
	}
	refs, err := st.ListSealed(ctx, "k1", 100)
	if err != nil || len(refs) != 2 || refs[0].Kind != store.SealedOAuthTokens || refs[0].Version != c.Version || string(refs[0].Sealed.Value) != "t1" ||
		refs[1].Kind != store.SealedOAuthState || refs[1].Hash != h || string(refs[1].Sealed.Value) != "p" {
		t.Fatalf("ListSealed = %+v, %v", refs, err)
	}
	if page, _ := st.ListSealed(ctx, "k1", 1); len(page) != 1 {
		t.Fatalf("ListSealed with limit 1: %d refs", len(page))
	}

	// A renewal lands between the listing and the re-seal: the re-seal misses.
	tokens := refs[0]
	renewed, err := o.SaveOAuthConnection(ctx, store.OAuthConnection{AppID: "app1", Slug: "s1", Sealed: store.Sealed{KeyID: "k1", Value: []byte("t2")}, Scopes: "a"}, c.Version)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Reseal(ctx, tokens, store.Sealed{KeyID: "k2", Value: []byte("t1")}); ok || err != nil {
		t.Fatalf("re-seal of tokens renewed since: %v, %v", ok, err)
	}
	tokens.Version = renewed.Version
	if ok, err := st.Reseal(ctx, tokens, store.Sealed{KeyID: "k2", Value: []byte("t2'")}); !ok || err != nil {
		t.Fatalf("re-seal of the current tokens: %v, %v", ok, err)
	}
	if ok, err := st.Reseal(ctx, refs[1], store.Sealed{KeyID: "k2", Value: []byte("p'")}); !ok || err != nil {
		t.Fatalf("re-seal of a state: %v, %v", ok, err)
	}
	got, err := o.GetOAuthConnection(ctx, "app1", "s1")
	if err != nil || got.Version != renewed.Version || got.Sealed.KeyID != "k2" || string(got.Sealed.Value) != "t2'" || got.Scopes != "a" {
		t.Fatalf("after the re-seal: %+v, %v (the version stays: a renewal in flight still lands)", got, err)
	}
	if n, _ := st.CountSealed(ctx); n["k1"] != 0 || n["k2"] != 2 {
		t.Fatalf("CountSealed after the re-seal = %v", n)
	}
	if err := st.DeleteDataKey(ctx, "k1"); err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting a data key nothing is sealed under: %v", err)
	}
	s, err := o.TakeOAuthState(ctx, h, now)
	if err != nil || s.Sealed.KeyID != "k2" || string(s.Sealed.Value) != "p'" {
		t.Fatalf("the state after the re-seal: %+v, %v", s, err)
	}
}
