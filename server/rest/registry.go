package rest

import (
	"context"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/server/httpx"
)

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
	if err := h.svc.SetRegistry(ctx, app, req.Body.Enabled); err != nil {
		return nil, StoreError(err, httpx.CodeInternal, "")
	}
	return gen.RegistryControllerSetRegistry200JSONResponse(registrySettings(app, req.Body.Enabled)), nil
}
