package rest

import (
	"context"
	"errors"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

// GrantStore is what the OAuth grant operations need (store.OAuthStore has it).
type GrantStore interface {
	ListOAuthGrants(ctx context.Context, appID, agentUID string) ([]store.OAuthGrant, error)
	RevokeOAuthGrant(ctx context.Context, appID, id string) error
}

func (h *Handler) AgentOAuthControllerListGrants(ctx context.Context, req gen.AgentOAuthControllerListGrantsRequestObject) (gen.AgentOAuthControllerListGrantsResponseObject, error) {
	app, _, err := h.agent(ctx, req.Uid)
	if err != nil {
		return nil, err
	}
	out := gen.AgentOAuthControllerListGrants200JSONResponse{Data: []gen.OAuthGrant{}}
	if h.grants == nil {
		return out, nil
	}
	grants, err := h.grants.ListOAuthGrants(ctx, app, req.Uid)
	if err != nil {
		return nil, StoreError(err, httpx.CodeInternal, "")
	}
	for _, g := range grants {
		out.Data = append(out.Data, gen.OAuthGrant{Id: g.ID, AgentUid: g.AgentUID, ClientId: g.ClientID, ClientName: g.ClientName, Scope: g.Scope, CreatedAt: g.CreatedAt, LastUsedAt: g.LastUsedAt})
	}
	return out, nil
}

func (h *Handler) AgentOAuthControllerRevokeGrant(ctx context.Context, req gen.AgentOAuthControllerRevokeGrantRequestObject) (gen.AgentOAuthControllerRevokeGrantResponseObject, error) {
	app, _, err := h.agent(ctx, req.Uid)
	if err != nil {
		return nil, err
	}
	notFound := httpx.NewError(httpx.CodeGrantNotFound, "Agent %q has no OAuth grant %q.", req.Uid, req.GrantId)
	if h.grants == nil {
		return nil, notFound
	}
	grants, err := h.grants.ListOAuthGrants(ctx, app, req.Uid)
	if err != nil {
		return nil, StoreError(err, httpx.CodeInternal, "")
	}
	for _, g := range grants {
		if g.ID != req.GrantId {
			continue
		}
		if err := h.grants.RevokeOAuthGrant(ctx, app, g.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, StoreError(err, httpx.CodeGrantNotFound, "")
		}
		return gen.AgentOAuthControllerRevokeGrant200JSONResponse{Success: true, Message: "OAuth grant revoked"}, nil
	}
	return nil, notFound
}
