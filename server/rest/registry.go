package rest

import (
	"context"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/server/httpx"
)

// RegistryStore switches an app's read-only MCP Registry view (served by server/registry).
type RegistryStore interface {
	SetRegistry(ctx context.Context, appID string, on bool) error
	RegistryEnabled(ctx context.Context, appID string) (bool, error)
}

func registrySettings(app string, on bool) gen.RegistrySettings {
	return gen.RegistrySettings{Enabled: on, Path: "/registry/" + app}
}

func (h *Handler) RegistryControllerGetRegistry(ctx context.Context, _ gen.RegistryControllerGetRegistryRequestObject) (gen.RegistryControllerGetRegistryResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	on, err := h.st.RegistryEnabled(ctx, app)
	if err != nil {
		return nil, StoreError(err, httpx.CodeInternal, "")
	}
	return gen.RegistryControllerGetRegistry200JSONResponse(registrySettings(app, on)), nil
}

func (h *Handler) RegistryControllerSetRegistry(ctx context.Context, req gen.RegistryControllerSetRegistryRequestObject) (gen.RegistryControllerSetRegistryResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.st.SetRegistry(ctx, app, req.Body.Enabled); err != nil {
		return nil, StoreError(err, httpx.CodeInternal, "")
	}
	return gen.RegistryControllerSetRegistry200JSONResponse(registrySettings(app, req.Body.Enabled)), nil
}
