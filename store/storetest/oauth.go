package storetest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/agentmcp/agentmcp/store"
)

// oauthStore is st's OAuth store. The SQL backends have one (sqlstore asserts it at
// compile time); a decorator such as store/cache has none, and nothing to add to it.
func oauthStore(t *testing.T, st store.Store) store.OAuthStore {
	t.Helper()
	o, ok := st.(store.OAuthStore)
	if !ok {
		t.Skipf("%T keeps no OAuth store (store.OAuthStore is the SQL backends')", st)
	}
	return o
}

// approvedCode registers a client, makes a request for app/uid, approves it and returns
// the code's hash.
func approvedCode(t *testing.T, o store.OAuthStore, app, uid, id string, now int64) [32]byte {
	t.Helper()
	ctx := context.Background()
	if err := o.CreateOAuthClient(ctx, store.OAuthClient{ID: "c-" + id, Name: "Client", RedirectURIs: []string{"http://127.0.0.1/cb"}, CreatedAt: now, ExpiresAt: now + 1000}); err != nil {
		t.Fatal(err)
	}
	r := store.OAuthRequest{ID: id, ClientID: "c-" + id, ClientName: "Client", AgentUID: uid, RedirectURI: "http://127.0.0.1/cb", CodeChallenge: "ch", State: "s", CreatedAt: now, ExpiresAt: now + 600}
	if err := o.CreateOAuthRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	code := store.HashKey("code-" + id)
	if err := o.ApproveOAuthRequest(ctx, id, app, "key_1", code, now, now+60); err != nil {
		t.Fatal(err)
	}
	return code
}

func grantOf(app, uid, id string, now int64) store.OAuthGrant {
	return store.OAuthGrant{ID: id, AppID: app, AgentUID: uid, ClientID: "c-" + id, ClientName: "Client", CreatedAt: now, LastUsedAt: now}
}

func tokensOf(grant, secret string, now int64) []store.OAuthToken {
	return []store.OAuthToken{
		{Hash: store.HashKey("access-" + secret), GrantID: grant, Kind: store.OAuthAccess, ExpiresAt: now + 3600},
		{Hash: store.HashKey("refresh-" + secret), GrantID: grant, Kind: store.OAuthRefresh, ExpiresAt: now + 86400},
	}
}

// testOAuth: a client's registration expires unless used, a request waits for consent
// once, a code is redeemed once (again: its grant goes), a refresh token rotates once
// (again: its family goes, audited), and a grant dies with its agent.
func testOAuth(t *testing.T, st store.Store) {
	ctx := context.Background()
	o := oauthStore(t, st)
	mustApp(t, st, "app1")
	mustAgent(t, st, "app1", "a1")
	const now = int64(1_000_000)

	// Registrations expire unused.
	if err := o.CreateOAuthClient(ctx, store.OAuthClient{ID: "dcr1", Name: "N", RedirectURIs: []string{"https://x.example/cb"}, CreatedAt: now, ExpiresAt: now + 10}); err != nil {
		t.Fatal(err)
	}
	if c, err := o.GetOAuthClient(ctx, "dcr1", now+9); err != nil || c.Name != "N" || len(c.RedirectURIs) != 1 || c.RedirectURIs[0] != "https://x.example/cb" {
		t.Fatalf("GetOAuthClient = %+v, %v", c, err)
	}
	if _, err := o.GetOAuthClient(ctx, "dcr1", now+10); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired registration: %v, want ErrNotFound", err)
	}

	// A request waits once; a denied one is gone.
	r := store.OAuthRequest{ID: "rq-deny", ClientID: "dcr1", AgentUID: "a1", RedirectURI: "https://x.example/cb", CodeChallenge: "c", CreatedAt: now, ExpiresAt: now + 600}
	if err := o.CreateOAuthRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, err := o.GetOAuthRequest(ctx, "rq-deny", now); err != nil || got.AgentUID != "a1" || got.CodeChallenge != "c" {
		t.Fatalf("GetOAuthRequest = %+v, %v", got, err)
	}
	if _, err := o.GetOAuthRequest(ctx, "rq-deny", now+600); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired request: %v", err)
	}
	if err := o.DenyOAuthRequest(ctx, "rq-deny"); err != nil {
		t.Fatal(err)
	}
	if err := o.ApproveOAuthRequest(ctx, "rq-deny", "app1", "k", store.HashKey("x"), now, now+60); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("approve after deny: %v", err)
	}

	// Approve once; redeem once; the second redeem revokes the grant.
	code := approvedCode(t, o, "app1", "a1", "rq1", now)
	if err := o.ApproveOAuthRequest(ctx, "rq1", "app1", "k", store.HashKey("y"), now, now+60); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second approval: %v", err)
	}
	if got, err := o.LookupOAuthCode(ctx, code); err != nil || got.AppID != "app1" || got.ApprovedBy != "key_1" || got.UsedAt != 0 || got.ExpiresAt != now+60 {
		t.Fatalf("LookupOAuthCode = %+v, %v", got, err)
	}
	if err := o.RedeemOAuthCode(ctx, code, grantOf("app1", "a1", "rq1", now), tokensOf("rq1", "1", now), now); err != nil {
		t.Fatal(err)
	}
	if _, err := o.GetOAuthClient(ctx, "c-rq1", now+5000); err != nil {
		t.Fatalf("a used registration must not expire: %v", err)
	}
	tok, g, err := o.LookupOAuthToken(ctx, store.HashKey("access-1"))
	if err != nil || tok.Kind != store.OAuthAccess || g.AgentUID != "a1" || g.AppID != "app1" {
		t.Fatalf("LookupOAuthToken = %+v %+v, %v", tok, g, err)
	}
	if err := o.RedeemOAuthCode(ctx, code, grantOf("app1", "a1", "rq1", now), tokensOf("rq1", "1b", now), now); !errors.Is(err, store.ErrReplayed) {
		t.Fatalf("second redeem: %v, want ErrReplayed", err)
	}
	if _, _, err := o.LookupOAuthToken(ctx, store.HashKey("access-1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token of a replayed code: %v, want ErrNotFound", err)
	}

	// Rotation: once; the replay revokes the family and is audited.
	code = approvedCode(t, o, "app1", "a1", "rq2", now)
	if err := o.RedeemOAuthCode(ctx, code, grantOf("app1", "a1", "rq2", now), tokensOf("rq2", "2", now), now); err != nil {
		t.Fatal(err)
	}
	if _, err := o.RotateOAuthRefresh(ctx, store.HashKey("access-2"), tokensOf("", "3", now), now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rotating an access token: %v", err)
	}
	g, err = o.RotateOAuthRefresh(ctx, store.HashKey("refresh-2"), tokensOf("", "3", now), now+1)
	if err != nil || g.ID != "rq2" || g.LastUsedAt != now+1 {
		t.Fatalf("RotateOAuthRefresh = %+v, %v", g, err)
	}
	if _, err := o.RotateOAuthRefresh(ctx, store.HashKey("refresh-2"), tokensOf("", "4", now), now+2); !errors.Is(err, store.ErrReplayed) {
		t.Fatalf("replayed refresh: %v, want ErrReplayed", err)
	}
	if _, _, err := o.LookupOAuthToken(ctx, store.HashKey("access-3")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the family survived a replay: %v", err)
	}
	events, err := st.ListAuditEvents(ctx, "app1", store.AuditQuery{Limit: 10, Action: store.AuditOAuthRefreshReuse})
	if err != nil || len(events) != 1 || events[0].Target != store.AgentTarget("a1") {
		t.Fatalf("refresh reuse audit = %+v, %v", events, err)
	}

	// Concurrent rotations of one token: exactly one wins.
	code = approvedCode(t, o, "app1", "a1", "rq3", now)
	if err := o.RedeemOAuthCode(ctx, code, grantOf("app1", "a1", "rq3", now), tokensOf("rq3", "5", now), now); err != nil {
		t.Fatal(err)
	}
	var won atomic.Int32
	Concurrently(t, 4, func(i int) error {
		_, err := o.RotateOAuthRefresh(ctx, store.HashKey("refresh-5"), tokensOf("", "6-"+string(rune('a'+i)), now), now+1)
		if err == nil {
			won.Add(1)
			return nil
		}
		if errors.Is(err, store.ErrReplayed) || errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	if won.Load() != 1 {
		t.Fatalf("%d rotations of one refresh token won, want 1", won.Load())
	}

	// List, touch, revoke (audited), another app's grant is not found.
	code = approvedCode(t, o, "app1", "a1", "rq4", now)
	if err := o.RedeemOAuthCode(ctx, code, grantOf("app1", "a1", "rq4", now), tokensOf("rq4", "7", now), now); err != nil {
		t.Fatal(err)
	}
	if err := o.TouchOAuthGrant(ctx, "rq4", now+50); err != nil {
		t.Fatal(err)
	}
	gs, err := o.ListOAuthGrants(ctx, "app1", "a1")
	if err != nil || len(gs) != 1 || gs[0].ID != "rq4" || gs[0].LastUsedAt != now+50 {
		t.Fatalf("ListOAuthGrants = %+v, %v", gs, err)
	}
	if err := o.RevokeOAuthGrant(ctx, "app2", "rq4"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke from another app: %v", err)
	}
	if err := o.RevokeOAuthGrant(ctx, "app1", "rq4"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.LookupOAuthToken(ctx, store.HashKey("access-7")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token of a revoked grant: %v", err)
	}
	if events, err := st.ListAuditEvents(ctx, "app1", store.AuditQuery{Limit: 10, Action: store.AuditOAuthGrant}); err != nil || len(events) != 4 || events[0].After == nil {
		t.Fatalf("grant audit = %d events, %v", len(events), err)
	}

	// Deleting the agent deletes its grants and tokens.
	code = approvedCode(t, o, "app1", "a1", "rq5", now)
	if err := o.RedeemOAuthCode(ctx, code, grantOf("app1", "a1", "rq5", now), tokensOf("rq5", "8", now), now); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteAgent(ctx, "app1", "a1", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.LookupOAuthToken(ctx, store.HashKey("access-8")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token of a deleted agent: %v", err)
	}
	code6 := approvedCode(t, o, "app1", "a1", "rq6", now)
	if err := o.RedeemOAuthCode(ctx, code6, grantOf("app1", "a1", "rq6", now), tokensOf("rq6", "9", now), now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("redeeming a code of a deleted agent: %v, want ErrNotFound", err)
	}

	// Purge: what expired goes.
	n, err := o.PurgeOAuth(ctx, now+100000)
	if err != nil || n == 0 {
		t.Fatalf("PurgeOAuth = %d, %v", n, err)
	}
	if _, err := o.LookupOAuthCode(ctx, code); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("purged code: %v", err)
	}
}
