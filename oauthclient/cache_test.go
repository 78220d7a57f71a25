package oauthclient

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/store"
)

// countingStore counts the connection reads of a Service.
type countingStore struct {
	store.UpstreamOAuthStore
	reads atomic.Int64
}

func (c *countingStore) GetOAuthConnection(ctx context.Context, app, slug string) (store.OAuthConnection, error) {
	c.reads.Add(1)
	return c.UpstreamOAuthStore.GetOAuthConnection(ctx, app, slug)
}

func header(t *testing.T, s *Service) string {
	t.Helper()
	a, err := s.Auth(context.Background(), "app", "s")
	if err != nil {
		t.Fatal(err)
	}
	h, err := a.Header(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h.Get("Authorization")
}

// TestTokenCache: a server's access token is read from the store and unsealed once, then
// served from memory; a token written by another replica is taken when the feed says the
// server changed, or at once when the server refused the kept one; forgetting the tokens
// forgets the kept one; the cache is bounded.
func TestTokenCache(t *testing.T) {
	s, st, creds := connected(t)
	counting := &countingStore{UpstreamOAuthStore: st}
	s.opt.Store = counting
	for range 100 {
		if got := header(t, s); got != "Bearer AT-1" {
			t.Fatalf("header %q", got)
		}
	}
	if n := counting.reads.Load(); n != 1 {
		t.Fatalf("100 requests read the connection %d times, want 1", n)
	}

	// Another replica (its own Service on the same store) connects the server again.
	other := New(Options{Store: st, Keyring: creds, Prober: s.opt.Prober})
	h := held{Access: "AT-2", Refresh: "RT-2", Expiry: time.Now().Add(time.Hour).UnixMilli(), Client: client{ID: "c", TokenURL: "https://as.example.com/token"}}
	if err := other.replace(context.Background(), "app", "s", h, []string{"tools"}); err != nil {
		t.Fatal(err)
	}
	if got := header(t, s); got != "Bearer AT-1" {
		t.Fatalf("before any news, header %q (the kept token)", got)
	}
	s.Invalidate("app", "s") // the feed's ChangeRecord of the probe after the connection
	if got := header(t, s); got != "Bearer AT-2" {
		t.Fatalf("after Invalidate, header %q", got)
	}

	// The server refuses the kept token: the newer one in the store is taken, no refresh.
	h.Access = "AT-3"
	if err := other.replace(context.Background(), "app", "s", h, []string{"tools"}); err != nil {
		t.Fatal(err)
	}
	a, _ := s.Auth(context.Background(), "app", "s")
	next, err := a.Refused(context.Background(), &http.Response{StatusCode: http.StatusUnauthorized, Header: http.Header{}}, http.Header{"Authorization": {"Bearer AT-2"}})
	if err != nil || next.Get("Authorization") != "Bearer AT-3" {
		t.Fatalf("after a 401 to the kept token: %v, %v", next, err)
	}
	if got := header(t, s); got != "Bearer AT-3" {
		t.Fatalf("after a 401, header %q", got)
	}

	if err := s.Forget(context.Background(), "app", "s"); err != nil {
		t.Fatal(err)
	}
	if got := header(t, s); got != "" {
		t.Fatalf("after Forget, header %q", got)
	}

	var c tokenCache
	for i := range maxCachedTokens + 10 {
		_, _, gen := c.get(serverKey{})
		c.put(serverKey{"app", fmt.Sprint(i)}, cachedToken{access: "t"}, gen)
	}
	if len(c.m) > maxCachedTokens {
		t.Fatalf("%d tokens kept, bound %d", len(c.m), maxCachedTokens)
	}
	_, _, gen := c.get(serverKey{})
	c.drop(serverKey{"app", "0"})
	c.put(serverKey{"app", "late"}, cachedToken{access: "t"}, gen)
	if _, ok, _ := c.get(serverKey{"app", "late"}); ok {
		t.Fatal("a read begun before a drop put its answer back")
	}
}

// TestRefusedWaitsForTheOtherReplicasToken: after a 401, while another replica holds the
// lease to renew, the refused token is not an answer: the request waits for the new one.
func TestRefusedWaitsForTheOtherReplicasToken(t *testing.T) {
	s, st, creds := connected(t)
	ctx := context.Background()
	c, err := st.GetOAuthConnection(ctx, "app", "s")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	if ok, err := st.LeaseOAuthConnection(ctx, "app", "s", c.Version, now, now+leaseFor.Milliseconds()); !ok || err != nil {
		t.Fatalf("the other replica's lease: %v, %v", ok, err)
	}
	a, _ := s.Auth(ctx, "app", "s")
	got := make(chan http.Header, 1)
	go func() {
		h, err := a.Refused(ctx, &http.Response{StatusCode: http.StatusUnauthorized, Header: http.Header{}}, http.Header{"Authorization": {"Bearer AT-1"}})
		if err != nil {
			t.Error(err)
		}
		got <- h
	}()
	// The other replica's renewal lands a while later, its lease still held meanwhile (if the
	// request has not polled yet by then, it reads the new token at once: the test is weaker,
	// never wrong).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c2, _ := st.GetOAuthConnection(ctx, "app", "s"); c2.LeaseUntil != 0 && time.Now().After(time.UnixMilli(now).Add(200*time.Millisecond)) {
			break
		} else if time.Now().After(deadline) {
			t.Fatal("the lease went away")
		}
	}
	other := New(Options{Store: st, Keyring: creds, Prober: s.opt.Prober})
	h := held{Access: "AT-2", Refresh: "RT-2", Expiry: time.Now().Add(time.Hour).UnixMilli(), Client: client{ID: "c", TokenURL: "https://as.example.com/token"}}
	sealed, err := other.seal(ctx, "app", tokensSlug("s"), h)
	if err != nil {
		t.Fatal(err)
	}
	c.Sealed, c.ExpiresAt = sealed, h.Expiry
	if _, err := st.SaveOAuthConnection(ctx, c, c.Version); err != nil {
		t.Fatal(err)
	}
	select {
	case next := <-got:
		if next.Get("Authorization") != "Bearer AT-2" {
			t.Fatalf("after a 401, while another replica renewed: %v, want the new token", next)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no answer within 60 s of the other replica's renewal")
	}
}
