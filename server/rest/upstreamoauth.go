package rest

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/oauthclient"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

// UpstreamOAuth is agentmcp's OAuth client of the MCP servers that take OAuth
// (*oauthclient.Service).
type UpstreamOAuth interface {
	Auth(ctx context.Context, app, slug string) (probe.Auth, error)
	Authorize(ctx context.Context, app, slug, serverURL string) (string, error)
	Status(ctx context.Context, app, slug string) (oauthclient.Status, error)
}

// auth is what a probe of the server sends.
func (h *Handler) auth(ctx context.Context, app, slug string) (probe.Auth, error) {
	if h.oauth != nil {
		return h.oauth.Auth(ctx, app, slug)
	}
	return h.creds.Auth(ctx, app, slug)
}

// wireOAuth adds what may be shown of an OAuth server's configuration and connection.
func (h *Handler) wireOAuth(ctx context.Context, m store.MCPServer, w *gen.McpServer) error {
	if m.Auth.Type != keyring.AuthOAuth || w.Auth == nil {
		return nil
	}
	c, err := h.creds.Credentials(ctx, m.AppID, m.Slug)
	if err != nil {
		return fmt.Errorf("credentials of %s: %w", m.Slug, err)
	}
	if c.OAuth != nil {
		g := gen.McpServerAuthGrant(c.OAuth.Grant)
		w.Auth.Grant = &g
		if c.OAuth.ClientID != "" {
			w.Auth.ClientId = ptr(c.OAuth.ClientID)
		}
		w.Auth.Scopes = c.OAuth.Scopes
	}
	if h.oauth == nil {
		w.Auth.Connected = ptr(false)
		return nil
	}
	st, err := h.oauth.Status(ctx, m.AppID, m.Slug)
	if err != nil {
		return err
	}
	w.Auth.Connected = &st.Connected
	if len(st.Scopes) > 0 {
		w.Auth.Scopes = st.Scopes
	}
	if st.ExpiresAt > 0 {
		w.Auth.ExpiresAt = &st.ExpiresAt
	}
	if len(st.StepUp) > 0 {
		w.Auth.StepUpScopes = st.StepUp
	}
	if st.Problem != "" {
		w.Auth.Problem = &st.Problem
	}
	return nil
}

func (h *Handler) McpServersControllerAuthorizeOAuth(ctx context.Context, req gen.McpServersControllerAuthorizeOAuthRequestObject) (gen.McpServersControllerAuthorizeOAuthResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	m, err := h.st.GetMCPServer(ctx, app, req.Slug)
	if err != nil {
		return nil, serverNotFound(err, req.Slug)
	}
	if h.oauth == nil {
		return nil, httpx.NewError(httpx.CodeNotOAuth, "This agentmcp keeps no OAuth connections (its store has none).")
	}
	u, err := h.oauth.Authorize(ctx, app, req.Slug, m.URL)
	switch {
	case errors.Is(err, oauthclient.ErrNotOAuth):
		return nil, httpx.NewError(httpx.CodeNotOAuth, "MCP server %q has no OAuth credentials: set its auth to {\"type\":\"oauth\",\"grant\":\"authorization_code\"} first.", req.Slug)
	case errors.Is(err, oauthclient.ErrNoPerson):
		return nil, httpx.NewError(httpx.CodeNotOAuth, "MCP server %q uses the client_credentials grant: agentmcp gets its tokens by itself.", req.Slug)
	case errors.Is(err, oauthclient.ErrDiscovery):
		return nil, httpx.NewError(httpx.CodeOAuthUpstream, "%s", err.Error())
	case errors.Is(err, keyring.ErrNoKeeper):
		return nil, httpx.NewError(httpx.CodeNotOAuth, "This agentmcp has no secrets keeper to seal tokens with (start it with --secrets-keeper).")
	case errors.Is(err, store.ErrNotFound):
		return nil, serverNotFound(err, req.Slug)
	case err != nil:
		return nil, err
	}
	return gen.McpServersControllerAuthorizeOAuth200JSONResponse{AuthorizationUrl: u}, nil
}
