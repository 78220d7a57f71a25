package rest

import (
	"context"
	"errors"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/service"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

func wireKey(k store.APIKey) gen.AgentKey {
	return gen.AgentKey{Id: k.ID, AppId: k.AppID, AgentUid: k.AgentUID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
}

// agentKeys returns the keys of agent uid, which must exist.
func (h *Handler) agentKeys(ctx context.Context, app, uid string) ([]store.APIKey, error) {
	keys, err := h.svc.AgentKeys(ctx, app, uid)
	if err != nil {
		return nil, agentError(err, uid, "")
	}
	return keys, nil
}

func (h *Handler) AgentKeysControllerCreateAgentKey(ctx context.Context, req gen.AgentKeysControllerCreateAgentKeyRequestObject) (gen.AgentKeysControllerCreateAgentKeyResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	var name string
	if req.Body != nil {
		name = deref(req.Body.Name)
	}
	k, secret, err := h.svc.CreateAgentKey(ctx, app, req.Uid, name)
	var limit *service.LimitError
	switch {
	case errors.As(err, &limit):
		return nil, httpx.NewError(httpx.CodeLimitReached, "Agent %q already has %d keys, the most it may have; revoke one first.", req.Uid, limit.Limit)
	case errors.Is(err, store.ErrNotFound):
		return nil, agentError(err, req.Uid, "")
	case err != nil:
		return nil, StoreError(err, httpx.CodeInternal, "")
	}
	return gen.AgentKeysControllerCreateAgentKey201JSONResponse{Key: wireKey(k), Secret: secret}, nil
}

func (h *Handler) AgentKeysControllerListAgentKeys(ctx context.Context, req gen.AgentKeysControllerListAgentKeysRequestObject) (gen.AgentKeysControllerListAgentKeysResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := h.agentKeys(ctx, app, req.Uid)
	if err != nil {
		return nil, err
	}
	out := gen.AgentKeysControllerListAgentKeys200JSONResponse{Data: make([]gen.AgentKey, len(keys))}
	for i, k := range keys {
		out.Data[i] = wireKey(k)
	}
	return out, nil
}

func (h *Handler) AgentKeysControllerRevokeAgentKey(ctx context.Context, req gen.AgentKeysControllerRevokeAgentKeyRequestObject) (gen.AgentKeysControllerRevokeAgentKeyResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	err = h.svc.RevokeAgentKey(ctx, app, req.Uid, req.KeyId)
	switch {
	case err == nil:
		return gen.AgentKeysControllerRevokeAgentKey200JSONResponse{Success: true, Message: "Agent key revoked"}, nil
	case !errors.Is(err, service.ErrNoSuchKey):
		return nil, agentError(err, req.Uid, "")
	}
	return nil, httpx.NewError(httpx.CodeKeyNotFound, "Agent %q has no key %q.", req.Uid, req.KeyId)
}
