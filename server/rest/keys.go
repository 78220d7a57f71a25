package rest

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

// KeyStore is what the agent key operations use.
type KeyStore interface {
	CreateAPIKey(ctx context.Context, k store.APIKey) error
	ListAPIKeys(ctx context.Context, appID string) ([]store.APIKey, error)
	RevokeAPIKey(ctx context.Context, id string) error
}

// maxAgentKeys bounds the live keys of one agent.
const maxAgentKeys = 100

func wireKey(k store.APIKey) gen.AgentKey {
	return gen.AgentKey{Id: k.ID, AppId: k.AppID, AgentUid: k.AgentUID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
}

// agentKeys returns the keys of agent uid, which must exist.
func (h *Handler) agentKeys(ctx context.Context, app, uid string) ([]store.APIKey, error) {
	if _, err := h.st.GetAgent(ctx, app, uid); err != nil {
		return nil, agentError(err, uid, "")
	}
	all, err := h.st.ListAPIKeys(ctx, app)
	if err != nil {
		return nil, StoreError(err, httpx.CodeInternal, "")
	}
	var out []store.APIKey
	for _, k := range all {
		if k.Scope == store.ScopeAgent && k.AgentUID == uid {
			out = append(out, k)
		}
	}
	return out, nil
}

func (h *Handler) AgentKeysControllerCreateAgentKey(ctx context.Context, req gen.AgentKeysControllerCreateAgentKeyRequestObject) (gen.AgentKeysControllerCreateAgentKeyResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := h.agentKeys(ctx, app, req.Uid)
	if err != nil {
		return nil, err
	}
	live := 0
	for _, k := range keys {
		if k.RevokedAt == 0 {
			live++
		}
	}
	if live >= maxAgentKeys {
		return nil, httpx.NewError(httpx.CodeLimitReached, "Agent %q already has %d keys, the most it may have; revoke one first.", req.Uid, maxAgentKeys)
	}
	k, secret := store.NewAPIKey(app, store.ScopeAgent)
	k.AgentUID = req.Uid
	if req.Body != nil {
		k.Name = deref(req.Body.Name)
	}
	if err := h.st.CreateAPIKey(ctx, k); err != nil {
		return nil, StoreError(err, httpx.CodeAgentNotFound, fmt.Sprintf("Agent %q", req.Uid))
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
	keys, err := h.agentKeys(ctx, app, req.Uid)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.ID != req.KeyId {
			continue
		}
		if err := h.st.RevokeAPIKey(ctx, k.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, StoreError(err, httpx.CodeKeyNotFound, "")
		}
		return gen.AgentKeysControllerRevokeAgentKey200JSONResponse{Success: true, Message: "Agent key revoked"}, nil
	}
	return nil, httpx.NewError(httpx.CodeKeyNotFound, "Agent %q has no key %q.", req.Uid, req.KeyId)
}
