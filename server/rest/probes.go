package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

// probeRetryAfter is the Retry-After, in seconds, of a probe refused for want of a slot.
const probeRetryAfter = 5

func wireHealth(h *store.Health) *gen.McpServerHealth {
	if h == nil {
		return nil
	}
	return &gen.McpServerHealth{Status: gen.HealthStatus(h.Status), CheckedAt: h.CheckedAt, ToolCount: h.ToolCount}
}

func (h *Handler) McpServersControllerProbeMcpServer(ctx context.Context, req gen.McpServersControllerProbeMcpServerRequestObject) (gen.McpServersControllerProbeMcpServerResponseObject, error) {
	app, m, err := h.server(ctx, req.Slug)
	if err != nil {
		return nil, err
	}
	header, err := h.auth(ctx, app, req.Slug)
	if err != nil {
		return nil, fmt.Errorf("credentials of %s: %w", req.Slug, err)
	}
	release, ok := h.slots.TryAcquire(app)
	if !ok {
		return nil, &httpx.Error{Status: http.StatusTooManyRequests, Code: httpx.CodeRateLimited, RetryAfter: probeRetryAfter,
			Message: "Too many probes are running, for this app or in all; retry later."}
	}
	defer release()
	res := h.prober.Probe(ctx, m.URL, header)
	rec := res.Record()
	if err := h.svc.SaveProbe(ctx, app, req.Slug, rec); err != nil {
		return nil, serverNotFound(err, req.Slug) // deleted while it was probed: 404
	}
	out := wireProbe(rec)
	if res.ToolsTruncated {
		reason := gen.ProbeResultToolsTruncatedReason(res.ToolsTruncatedReason)
		out.ToolsTruncated, out.ToolsTruncatedReason = &res.ToolsTruncated, &reason
	}
	return gen.McpServersControllerProbeMcpServer200JSONResponse(out), nil
}

// wireProbe is a probe's result as POST …/probe and GET …/probe answer it.
func wireProbe(r store.ProbeRecord) gen.ProbeResult {
	out := gen.ProbeResult{
		Status: gen.HealthStatus(r.Status), CheckedAt: r.CheckedAt, LatencyMs: r.LatencyMs, ProtocolVersion: r.ProtocolVersion,
		Capabilities: store.NonNilMap(r.Capabilities), ToolCount: r.ToolCount, Error: r.Error,
	}
	out.ServerInfo.Name, out.ServerInfo.Version = r.ServerName, r.ServerVersion
	if r.Status == string(probe.StatusAuthRequired) {
		out.AuthScheme, out.ResourceMetadata = &r.AuthScheme, &r.ResourceMetadata
	}
	return out
}

// McpServersControllerGetLastProbe is the last probe's result as POST …/probe gave it, so
// a server's page can say why its last probe failed.
func (h *Handler) McpServersControllerGetLastProbe(ctx context.Context, req gen.McpServersControllerGetLastProbeRequestObject) (gen.McpServersControllerGetLastProbeResponseObject, error) {
	app, _, err := h.server(ctx, req.Slug)
	if err != nil {
		return nil, err
	}
	r, err := h.st.GetProbe(ctx, app, req.Slug)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.Status == "") {
		return nil, httpx.NewError(httpx.CodeNotProbed, "MCP server %q was never probed.", req.Slug)
	}
	if err != nil {
		return nil, StoreError(err, httpx.CodeInternal, "")
	}
	return gen.McpServersControllerGetLastProbe200JSONResponse(wireProbe(r)), nil
}

func (h *Handler) McpServersControllerGetMcpServerTools(ctx context.Context, req gen.McpServersControllerGetMcpServerToolsRequestObject) (gen.McpServersControllerGetMcpServerToolsResponseObject, error) {
	app, _, err := h.server(ctx, req.Slug)
	if err != nil {
		return nil, err
	}
	r, err := h.st.GetProbe(ctx, app, req.Slug)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.Tools == nil) {
		return nil, httpx.NewError(httpx.CodeNotProbed, "MCP server %q has no successful probe yet.", req.Slug)
	}
	if err != nil {
		return nil, StoreError(err, httpx.CodeInternal, "")
	}
	tools, err := wireTools(r.Tools)
	if err != nil {
		return nil, fmt.Errorf("stored tools of %s: %w", req.Slug, err)
	}
	return gen.McpServersControllerGetMcpServerTools200JSONResponse{CheckedAt: r.ToolsCheckedAt, Tools: tools}, nil
}
