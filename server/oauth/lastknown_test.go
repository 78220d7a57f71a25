package oauth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/server/oauth"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/cache"
)

// tokenStore is an OAuth store that knows some access tokens, and is unavailable while down.
type tokenStore struct {
	store.OAuthStore // nil: Verify calls only the methods below

	mu     sync.Mutex
	down   bool
	tokens map[[32]byte]store.OAuthToken
	grants map[string]store.OAuthGrant
}

func (s *tokenStore) LookupOAuthToken(_ context.Context, h [32]byte) (store.OAuthToken, store.OAuthGrant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return store.OAuthToken{}, store.OAuthGrant{}, store.ErrUnavailable
	}
	t, ok := s.tokens[h]
	if !ok {
		return store.OAuthToken{}, store.OAuthGrant{}, store.ErrNotFound
	}
	return t, s.grants[t.GrantID], nil
}

func (s *tokenStore) TouchOAuthGrant(context.Context, string, int64) error { return nil }

func (s *tokenStore) issue(secret, grantID, uid string, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants[grantID] = store.OAuthGrant{ID: grantID, AppID: "app", AgentUID: uid}
	s.tokens[store.HashKey(secret)] = store.OAuthToken{GrantID: grantID, Kind: store.OAuthAccess, ExpiresAt: expires.UnixMilli()}
}

func (s *tokenStore) revoke(grantID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, t := range s.tokens {
		if t.GrantID == grantID {
			delete(s.tokens, h)
		}
	}
}

func (s *tokenStore) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// TestVerifyThroughAnOutage: while the store is unavailable and the outage within its
// bound, a token verified before answers as it did (its agent only, until its own expiry);
// one never verified is the store's unavailable error; one whose grant was revoked before
// (seen gone by a lookup, or told by the feed) is invalid; a feed reset forgets what was
// verified; past the bound nothing answers from memory.
func TestVerifyThroughAnOutage(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	st := &tokenStore{tokens: map[[32]byte]store.OAuthToken{}, grants: map[string]store.OAuthGrant{}}
	outageNow := now
	outage := cache.NewOutage(time.Minute, func() time.Time { return outageNow })
	s := oauth.New(oauth.Options{Store: st, Now: clock, Outage: outage})
	ctx := context.Background()
	st.issue("amo_seen", "grant-seen-0001", "agent-1", now.Add(time.Hour))
	st.issue("amo_short", "grant-short-001", "agent-1", now.Add(time.Minute))
	st.issue("amo_gone", "grant-gone-0001", "agent-1", now.Add(time.Hour))
	st.issue("amo_fed", "grant-fed-00001", "agent-1", now.Add(time.Hour))
	st.issue("amo_unseen", "grant-unseen-01", "agent-1", now.Add(time.Hour))
	for _, tok := range []string{"amo_seen", "amo_short", "amo_gone", "amo_fed"} {
		if _, err := s.Verify(ctx, tok, "agent-1"); err != nil {
			t.Fatalf("%s before the outage: %v", tok, err)
		}
	}
	st.revoke("grant-gone-0001")
	if _, err := s.Verify(ctx, "amo_gone", "agent-1"); !errors.Is(err, oauth.ErrInvalidToken) {
		t.Fatalf("a revoked token: %v", err)
	}
	st.revoke("grant-fed-00001")
	s.Changed(store.Change{Kind: store.ChangeKey, Key: oauth.KeyID("grant-fed-00001")}) // another replica's revocation

	st.setDown(true)
	k, err := s.Verify(ctx, "amo_seen", "agent-1")
	if err != nil || k.ID != oauth.KeyID("grant-seen-0001") || k.AgentUID != "agent-1" || k.AppID != "app" || k.Scope != store.ScopeAgent {
		t.Fatalf("a verified token during the outage: %+v %v", k, err)
	}
	if !outage.Down() || outage.ServedTotal() != 1 {
		t.Fatalf("the outage: down %v, served %d", outage.Down(), outage.ServedTotal())
	}
	if _, err := s.Verify(ctx, "amo_seen", "agent-2"); !errors.Is(err, oauth.ErrInvalidToken) {
		t.Fatalf("a verified token at another agent during the outage: %v", err)
	}
	for _, tok := range []string{"amo_gone", "amo_fed"} {
		if _, err := s.Verify(ctx, tok, "agent-1"); !errors.Is(err, oauth.ErrInvalidToken) {
			t.Fatalf("%s, revoked before the outage, during it: %v", tok, err)
		}
	}
	if _, err := s.Verify(ctx, "amo_unseen", "agent-1"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("a token never verified, during the outage: %v, want ErrUnavailable", err)
	}
	now = now.Add(2 * time.Minute) // past amo_short's expiry, within the outage's bound (its clock)
	if _, err := s.Verify(ctx, "amo_short", "agent-1"); !errors.Is(err, oauth.ErrInvalidToken) {
		t.Fatalf("a token past its own expiry during the outage: %v", err)
	}
	outageNow = outageNow.Add(2 * time.Minute) // past the bound
	if _, err := s.Verify(ctx, "amo_seen", "agent-1"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("a verified token past the bound: %v, want ErrUnavailable", err)
	}
	outageNow = now
	st.setDown(false)
	if _, err := s.Verify(ctx, "amo_seen", "agent-1"); err != nil || outage.Down() {
		t.Fatalf("after the outage: %v (down %v)", err, outage.Down())
	}
	s.Changed(store.Change{Kind: store.ChangeReset})
	st.setDown(true)
	if _, err := s.Verify(ctx, "amo_seen", "agent-1"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("after a reset, during an outage: %v, want ErrUnavailable", err)
	}
}
