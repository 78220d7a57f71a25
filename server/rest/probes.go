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

// Enqueuer is told of every create and URL change, to probe the server in the background.
type Enqueuer interface {
	Enqueue(store.ServerRef) bool
}

func wireHealth(h *store.Health) *gen.McpServerHealth {
	if h == nil {
		return nil
	}
	return &gen.McpServerHealth{Status: gen.HealthStatus(h.Status), CheckedAt: h.CheckedAt, ToolCount: h.ToolCount}
}

func (h *Handler) enqueue(m store.MCPServer) {
	if h.probes != nil {
		h.probes.Enqueue(store.ServerRef{AppID: m.AppID, Slug: m.Slug, URL: m.URL})
	}
}

func (h *Handler) McpServersControllerProbeMcpServer(ctx context.Context, req gen.McpServersControllerProbeMcpServerRequestObject) (gen.McpServersControllerProbeMcpServerResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	m, err := h.st.GetMCPServer(ctx, app, req.Slug)
	if err != nil {
		return nil, serverNotFound(err, req.Slug)
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
	if err := h.st.SaveProbe(ctx, app, req.Slug, res.Record()); err != nil {
		return nil, serverNotFound(err, req.Slug) // deleted while it was probed: 404
	}
	out := gen.McpServersControllerProbeMcpServer200JSONResponse{
		Status: gen.HealthStatus(res.Status), CheckedAt: res.CheckedAt.UnixMilli(), LatencyMs: res.Latency.Milliseconds(),
		ProtocolVersion: res.ProtocolVersion, Capabilities: store.NonNilMap(res.Capabilities), ToolCount: len(res.Tools), Error: res.Error,
	}
	out.ServerInfo.Name, out.ServerInfo.Version = res.ServerName, res.ServerVersion
	if res.ToolsTruncated {
		reason := gen.ProbeResultToolsTruncatedReason(res.ToolsTruncatedReason)
		out.ToolsTruncated, out.ToolsTruncatedReason = &res.ToolsTruncated, &reason
	}
	if res.Status == probe.StatusAuthRequired {
		out.AuthScheme, out.ResourceMetadata = &res.AuthScheme, &res.ResourceMetadata
	}
	return out, nil
}

// McpServersControllerGetLastProbe is the last probe's result as POST …/probe gave it, so
// a server's page can say why its last probe failed.
func (h *Handler) McpServersControllerGetLastProbe(ctx context.Context, req gen.McpServersControllerGetLastProbeRequestObject) (gen.McpServersControllerGetLastProbeResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := h.st.GetMCPServer(ctx, app, req.Slug); err != nil {
		return nil, serverNotFound(err, req.Slug)
	}
	r, err := h.st.GetProbe(ctx, app, req.Slug)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.Status == "") {
		return nil, httpx.NewError(httpx.CodeNotProbed, "MCP server %q was never probed.", req.Slug)
	}
	if err != nil {
		return nil, StoreError(err, httpx.CodeInternal, "")
	}
	out := gen.McpServersControllerGetLastProbe200JSONResponse{
		Status: gen.HealthStatus(r.Status), CheckedAt: r.CheckedAt, LatencyMs: r.LatencyMs, ProtocolVersion: r.ProtocolVersion,
		Capabilities: store.NonNilMap(r.Capabilities), ToolCount: r.ToolCount, Error: r.Error,
	}
	out.ServerInfo.Name, out.ServerInfo.Version = r.ServerName, r.ServerVersion
	if r.Status == string(probe.StatusAuthRequired) {
		out.AuthScheme, out.ResourceMetadata = &r.AuthScheme, &r.ResourceMetadata
	}
	return out, nil
}

func (h *Handler) McpServersControllerGetMcpServerTools(ctx context.Context, req gen.McpServersControllerGetMcpServerToolsRequestObject) (gen.McpServersControllerGetMcpServerToolsResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := h.st.GetMCPServer(ctx, app, req.Slug); err != nil {
		return nil, serverNotFound(err, req.Slug)
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
