package app

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentmcp/agentmcp/store"
)

// timedStore measures every store operation. It embeds nothing, so a method added to
// store.Store does not compile until it is timed here too.
type timedStore struct {
	s   store.Store
	h   *prometheus.HistogramVec
	ops *sync.Map // op → its histogram: WithLabelValues hashes and locks on every call
}

var _ store.Store = timedStore{}

func newTimedStore(s store.Store, h *prometheus.HistogramVec) timedStore {
	return timedStore{s: s, h: h, ops: new(sync.Map)}
}

func (t timedStore) done(op string, start time.Time) {
	o, ok := t.ops.Load(op)
	if !ok {
		o, _ = t.ops.LoadOrStore(op, t.h.WithLabelValues(op))
	}
	o.(prometheus.Observer).Observe(time.Since(start).Seconds())
}

// Unwrap returns the measured store (for optional interfaces such as store.Pooled).
func (t timedStore) Unwrap() store.Store { return t.s }

func (t timedStore) Ping(ctx context.Context) error {
	defer t.done("ping", time.Now())
	return t.s.Ping(ctx)
}

func (t timedStore) Close() error { return t.s.Close() }

func (t timedStore) CreateApp(ctx context.Context, id string) (store.App, error) {
	defer t.done("create_app", time.Now())
	return t.s.CreateApp(ctx, id)
}

func (t timedStore) ListApps(ctx context.Context) ([]store.App, error) {
	defer t.done("list_apps", time.Now())
	return t.s.ListApps(ctx)
}

func (t timedStore) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	defer t.done("create_api_key", time.Now())
	return t.s.CreateAPIKey(ctx, k)
}

func (t timedStore) LookupAPIKey(ctx context.Context, h [32]byte) (store.APIKey, error) {
	defer t.done("lookup_api_key", time.Now())
	return t.s.LookupAPIKey(ctx, h)
}

func (t timedStore) ListAPIKeys(ctx context.Context, app string) ([]store.APIKey, error) {
	defer t.done("list_api_keys", time.Now())
	return t.s.ListAPIKeys(ctx, app)
}

func (t timedStore) RevokeAPIKey(ctx context.Context, id string) error {
	defer t.done("revoke_api_key", time.Now())
	return t.s.RevokeAPIKey(ctx, id)
}

func (t timedStore) CreateMCPServer(ctx context.Context, app string, in store.NewMCPServer) (store.MCPServer, error) {
	defer t.done("create_mcp_server", time.Now())
	return t.s.CreateMCPServer(ctx, app, in)
}

func (t timedStore) GetMCPServer(ctx context.Context, app, slug string) (store.MCPServer, error) {
	defer t.done("get_mcp_server", time.Now())
	return t.s.GetMCPServer(ctx, app, slug)
}

func (t timedStore) UpdateMCPServer(ctx context.Context, app, slug string, p store.MCPServerPatch, pre store.Precondition) (before, after store.MCPServer, err error) {
	defer t.done("update_mcp_server", time.Now())
	return t.s.UpdateMCPServer(ctx, app, slug, p, pre)
}

func (t timedStore) DeleteMCPServer(ctx context.Context, app, slug string, pre store.Precondition) error {
	defer t.done("delete_mcp_server", time.Now())
	return t.s.DeleteMCPServer(ctx, app, slug, pre)
}

func (t timedStore) ListMCPServers(ctx context.Context, app string, p store.Page) ([]store.MCPServer, error) {
	defer t.done("list_mcp_servers", time.Now())
	return t.s.ListMCPServers(ctx, app, p)
}

func (t timedStore) CreateAgent(ctx context.Context, a store.Agent) (store.Agent, error) {
	defer t.done("create_agent", time.Now())
	return t.s.CreateAgent(ctx, a)
}

func (t timedStore) GetAgent(ctx context.Context, app, uid string) (store.Agent, error) {
	defer t.done("get_agent", time.Now())
	return t.s.GetAgent(ctx, app, uid)
}

func (t timedStore) UpdateAgent(ctx context.Context, app, uid string, p store.AgentPatch, pre store.Precondition) (store.Agent, error) {
	defer t.done("update_agent", time.Now())
	return t.s.UpdateAgent(ctx, app, uid, p, pre)
}

func (t timedStore) DeleteAgent(ctx context.Context, app, uid string, pre store.Precondition) error {
	defer t.done("delete_agent", time.Now())
	return t.s.DeleteAgent(ctx, app, uid, pre)
}

func (t timedStore) ListAgents(ctx context.Context, app string, p store.Page) ([]store.Agent, error) {
	defer t.done("list_agents", time.Now())
	return t.s.ListAgents(ctx, app, p)
}

func (t timedStore) AttachMCPServers(ctx context.Context, app, uid string, slugs []string) (store.Agent, error) {
	defer t.done("attach_mcp_servers", time.Now())
	return t.s.AttachMCPServers(ctx, app, uid, slugs)
}

func (t timedStore) DetachMCPServers(ctx context.Context, app, uid string, slugs []string) (store.Agent, error) {
	defer t.done("detach_mcp_servers", time.Now())
	return t.s.DetachMCPServers(ctx, app, uid, slugs)
}

func (t timedStore) AgentMCPServers(ctx context.Context, app, uid string) ([]store.MCPServer, error) {
	defer t.done("agent_mcp_servers", time.Now())
	return t.s.AgentMCPServers(ctx, app, uid)
}

func (t timedStore) SaveProbe(ctx context.Context, app, slug string, r store.ProbeRecord) error {
	defer t.done("save_probe", time.Now())
	return t.s.SaveProbe(ctx, app, slug, r)
}

func (t timedStore) GetProbe(ctx context.Context, app, slug string) (store.ProbeRecord, error) {
	defer t.done("get_probe", time.Now())
	return t.s.GetProbe(ctx, app, slug)
}

func (t timedStore) ClaimProbes(ctx context.Context, staleBefore, now, leaseUntil int64, limit int) ([]store.ServerRef, error) {
	defer t.done("claim_probes", time.Now())
	return t.s.ClaimProbes(ctx, staleBefore, now, leaseUntil, limit)
}

func (t timedStore) BeginIdempotent(ctx context.Context, app, key, hash string, now, staleBefore, expireBefore int64) (store.Idempotent, bool, error) {
	defer t.done("begin_idempotent", time.Now())
	return t.s.BeginIdempotent(ctx, app, key, hash, now, staleBefore, expireBefore)
}

func (t timedStore) GetIdempotent(ctx context.Context, app, key string) (store.Idempotent, error) {
	defer t.done("get_idempotent", time.Now())
	return t.s.GetIdempotent(ctx, app, key)
}

func (t timedStore) FinishIdempotent(ctx context.Context, app, key string, status int, body, etag string) error {
	defer t.done("finish_idempotent", time.Now())
	return t.s.FinishIdempotent(ctx, app, key, status, body, etag)
}

func (t timedStore) AbandonIdempotent(ctx context.Context, app, key string) error {
	defer t.done("abandon_idempotent", time.Now())
	return t.s.AbandonIdempotent(ctx, app, key)
}

func (t timedStore) PurgeIdempotency(ctx context.Context, before int64) (int64, error) {
	defer t.done("purge_idempotency", time.Now())
	return t.s.PurgeIdempotency(ctx, before)
}

func (t timedStore) ListAuditEvents(ctx context.Context, app string, q store.AuditQuery) ([]store.AuditEvent, error) {
	defer t.done("list_audit_events", time.Now())
	return t.s.ListAuditEvents(ctx, app, q)
}

func (t timedStore) ListDataKeys(ctx context.Context) ([]store.DataKey, error) {
	defer t.done("list_data_keys", time.Now())
	return t.s.ListDataKeys(ctx)
}

func (t timedStore) AddDataKey(ctx context.Context, k store.DataKey) error {
	defer t.done("add_data_key", time.Now())
	return t.s.AddDataKey(ctx, k)
}

func (t timedStore) AddDataKeyWrap(ctx context.Context, keyID, keeper string, wrapped []byte) error {
	defer t.done("add_data_key_wrap", time.Now())
	return t.s.AddDataKeyWrap(ctx, keyID, keeper, wrapped)
}

func (t timedStore) DeleteDataKeyWraps(ctx context.Context, keyID, keep string) error {
	defer t.done("delete_data_key_wraps", time.Now())
	return t.s.DeleteDataKeyWraps(ctx, keyID, keep)
}

func (t timedStore) DeleteDataKey(ctx context.Context, keyID string) error {
	defer t.done("delete_data_key", time.Now())
	return t.s.DeleteDataKey(ctx, keyID)
}

func (t timedStore) CountSealed(ctx context.Context) (map[string]int, error) {
	defer t.done("count_sealed", time.Now())
	return t.s.CountSealed(ctx)
}

func (t timedStore) ListSealed(ctx context.Context, keyID string, limit int) ([]store.SealedRef, error) {
	defer t.done("list_sealed", time.Now())
	return t.s.ListSealed(ctx, keyID, limit)
}

func (t timedStore) Reseal(ctx context.Context, ref store.SealedRef, s store.Sealed) (bool, error) {
	defer t.done("reseal", time.Now())
	return t.s.Reseal(ctx, ref, s)
}

func (t timedStore) GetCredentials(ctx context.Context, app, slug string) (store.AuthInfo, store.Sealed, error) {
	defer t.done("get_credentials", time.Now())
	return t.s.GetCredentials(ctx, app, slug)
}

func (t timedStore) SetRegistry(ctx context.Context, app string, on bool) error {
	defer t.done("set_registry", time.Now())
	return t.s.SetRegistry(ctx, app, on)
}

func (t timedStore) RegistryEnabled(ctx context.Context, app string) (bool, error) {
	defer t.done("registry_enabled", time.Now())
	return t.s.RegistryEnabled(ctx, app)
}

func (t timedStore) ListRegistry(ctx context.Context, app string, q store.RegistryQuery) (store.RegistryPage, error) {
	defer t.done("list_registry", time.Now())
	return t.s.ListRegistry(ctx, app, q)
}

func (t timedStore) CountIdempotent(ctx context.Context, app string, limit int) (int, error) {
	defer t.done("count_idempotent", time.Now())
	return t.s.CountIdempotent(ctx, app, limit)
}

func (t timedStore) PurgeAuditEvents(ctx context.Context, before int64) (int64, error) {
	defer t.done("purge_audit_events", time.Now())
	return t.s.PurgeAuditEvents(ctx, before)
}

func (t timedStore) ListToolPins(ctx context.Context, app, uid string) ([]store.ToolPin, error) {
	defer t.done("list_tool_pins", time.Now())
	return t.s.ListToolPins(ctx, app, uid)
}

func (t timedStore) ObserveToolPins(ctx context.Context, app, uid string, seen []store.PinObservation) ([]store.ToolPin, error) {
	defer t.done("observe_tool_pins", time.Now())
	return t.s.ObserveToolPins(ctx, app, uid, seen)
}

func (t timedStore) DecideToolChange(ctx context.Context, app, uid, hash string, approve bool) (store.ToolPin, error) {
	defer t.done("decide_tool_change", time.Now())
	return t.s.DecideToolChange(ctx, app, uid, hash, approve)
}
