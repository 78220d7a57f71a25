package app

import (
	"context"
	"errors"

	"github.com/agentmcp/agentmcp/server/oauth"
	"github.com/agentmcp/agentmcp/store"
)

// oauthRevocations publishes each revocation of an OAuth grant of the gateway's clients as
// the revocation of the key its tokens stand for (store.ChangeKey, oauth.KeyID), as
// store.Publishing does for API keys: every replica's authorization server remembers it
// through an outage of the store, and the grant's event streams end at once. Every other
// method is the backend's.
type oauthRevocations struct {
	store.OAuthStore
	pub store.Publisher
}

func (o oauthRevocations) revoked(grantID string) {
	if grantID != "" {
		o.pub.Publish(store.Change{Kind: store.ChangeKey, Key: oauth.KeyID(grantID)})
	}
}

// RedeemOAuthCode revokes the grant the code made when the code was used before.
func (o oauthRevocations) RedeemOAuthCode(ctx context.Context, code [32]byte, g store.OAuthGrant, tokens []store.OAuthToken, now int64) error {
	err := o.OAuthStore.RedeemOAuthCode(ctx, code, g, tokens, now)
	if errors.Is(err, store.ErrReplayed) {
		o.revoked(g.ID)
	}
	return err
}

// RotateOAuthRefresh revokes the grant (the new tokens') when the refresh token was used before.
func (o oauthRevocations) RotateOAuthRefresh(ctx context.Context, old [32]byte, tokens []store.OAuthToken, now int64) (store.OAuthGrant, error) {
	g, err := o.OAuthStore.RotateOAuthRefresh(ctx, old, tokens, now)
	if errors.Is(err, store.ErrReplayed) && len(tokens) > 0 {
		o.revoked(tokens[0].GrantID)
	}
	return g, err
}

func (o oauthRevocations) RevokeOAuthGrant(ctx context.Context, appID, id string) error {
	err := o.OAuthStore.RevokeOAuthGrant(ctx, appID, id)
	if err == nil {
		o.revoked(id)
	}
	return err
}
