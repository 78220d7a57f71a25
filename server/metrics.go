package server

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/store"
)

// metrics are the server's Prometheus metrics. Routes are echo's templates
// (/v3/…/mcp-servers/:slug), never a slug, so label values stay few.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	storeOps *prometheus.HistogramVec
	series   sync.Map // requestKey → requestSeries: label hashing once per series, not per request
}

type requestKey struct {
	method, route string
	status        int
}

type requestSeries struct {
	count prometheus.Counter
	dur   prometheus.Observer
}

func newMetrics(reg *prometheus.Registry, st store.Store) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentmcp_http_requests_total", Help: "HTTP requests by method, route template and status."},
			[]string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "agentmcp_http_request_duration_seconds", Help: "HTTP request latency by method, route template and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, []string{"method", "route", "status"}),
		storeOps: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "agentmcp_store_operation_duration_seconds", Help: "Store (database) operation latency by operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5, 1}}, []string{"op"}),
	}
	reg.MustRegister(m.requests, m.duration, m.storeOps, probe.Outcomes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if p, ok := st.(store.Pooled); ok {
		for _, g := range []struct {
			state string
			f     func(store.PoolStats) int
		}{{"open", func(s store.PoolStats) int { return s.Open }}, {"in_use", func(s store.PoolStats) int { return s.InUse }},
			{"idle", func(s store.PoolStats) int { return s.Idle }}, {"max", func(s store.PoolStats) int { return s.Max }}} {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "agentmcp_db_connections", Help: "Database connections by state.",
				ConstLabels: prometheus.Labels{"state": g.state}}, func() float64 { return float64(g.f(p.PoolStats())) }))
		}
	}
	return m
}

func (m *metrics) observe(c echo.Context, d time.Duration) {
	route := c.Path()
	if route == "" || route == BasePath+"/*" || route == "/*" {
		route = "unmatched"
	}
	k := requestKey{c.Request().Method, route, c.Response().Status}
	v, ok := m.series.Load(k)
	if !ok {
		labels := []string{k.method, k.route, strconv.Itoa(k.status)}
		v, _ = m.series.LoadOrStore(k, requestSeries{m.requests.WithLabelValues(labels...), m.duration.WithLabelValues(labels...)})
	}
	s := v.(requestSeries)
	s.count.Inc()
	s.dur.Observe(d.Seconds())
}

// timedStore measures every store operation.
type timedStore struct {
	store.Store
	h *prometheus.HistogramVec
}

func (t timedStore) done(op string, start time.Time) {
	t.h.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

func (t timedStore) Ping(ctx context.Context) error {
	defer t.done("ping", time.Now())
	return t.Store.Ping(ctx)
}

func (t timedStore) LookupAPIKey(ctx context.Context, h [32]byte) (store.APIKey, error) {
	defer t.done("lookup_api_key", time.Now())
	return t.Store.LookupAPIKey(ctx, h)
}

func (t timedStore) CreateMCPServer(ctx context.Context, app string, in store.NewMCPServer) (store.MCPServer, error) {
	defer t.done("create_mcp_server", time.Now())
	return t.Store.CreateMCPServer(ctx, app, in)
}

func (t timedStore) GetMCPServer(ctx context.Context, app, slug string) (store.MCPServer, error) {
	defer t.done("get_mcp_server", time.Now())
	return t.Store.GetMCPServer(ctx, app, slug)
}

func (t timedStore) UpdateMCPServer(ctx context.Context, app, slug string, p store.MCPServerPatch, pre store.Precondition) (before, after store.MCPServer, err error) {
	defer t.done("update_mcp_server", time.Now())
	return t.Store.UpdateMCPServer(ctx, app, slug, p, pre)
}

func (t timedStore) DeleteMCPServer(ctx context.Context, app, slug string, pre store.Precondition) error {
	defer t.done("delete_mcp_server", time.Now())
	return t.Store.DeleteMCPServer(ctx, app, slug, pre)
}

func (t timedStore) ListMCPServers(ctx context.Context, app string, p store.Page) ([]store.MCPServer, error) {
	defer t.done("list_mcp_servers", time.Now())
	return t.Store.ListMCPServers(ctx, app, p)
}

func (t timedStore) CreateAgent(ctx context.Context, a store.Agent) (store.Agent, error) {
	defer t.done("create_agent", time.Now())
	return t.Store.CreateAgent(ctx, a)
}

func (t timedStore) GetAgent(ctx context.Context, app, uid string) (store.Agent, error) {
	defer t.done("get_agent", time.Now())
	return t.Store.GetAgent(ctx, app, uid)
}

func (t timedStore) UpdateAgent(ctx context.Context, app, uid string, p store.AgentPatch, pre store.Precondition) (store.Agent, error) {
	defer t.done("update_agent", time.Now())
	return t.Store.UpdateAgent(ctx, app, uid, p, pre)
}

func (t timedStore) DeleteAgent(ctx context.Context, app, uid string, pre store.Precondition) error {
	defer t.done("delete_agent", time.Now())
	return t.Store.DeleteAgent(ctx, app, uid, pre)
}

func (t timedStore) ListAgents(ctx context.Context, app string, p store.Page) ([]store.Agent, error) {
	defer t.done("list_agents", time.Now())
	return t.Store.ListAgents(ctx, app, p)
}

func (t timedStore) AttachMCPServers(ctx context.Context, app, uid string, slugs []string) (store.Agent, error) {
	defer t.done("attach_mcp_servers", time.Now())
	return t.Store.AttachMCPServers(ctx, app, uid, slugs)
}

func (t timedStore) DetachMCPServers(ctx context.Context, app, uid string, slugs []string) (store.Agent, error) {
	defer t.done("detach_mcp_servers", time.Now())
	return t.Store.DetachMCPServers(ctx, app, uid, slugs)
}

func (t timedStore) AgentMCPServers(ctx context.Context, app, uid string) ([]store.MCPServer, error) {
	defer t.done("agent_mcp_servers", time.Now())
	return t.Store.AgentMCPServers(ctx, app, uid)
}

func (t timedStore) SaveProbe(ctx context.Context, app, slug string, r store.ProbeRecord) error {
	defer t.done("save_probe", time.Now())
	return t.Store.SaveProbe(ctx, app, slug, r)
}

func (t timedStore) GetProbe(ctx context.Context, app, slug string) (store.ProbeRecord, error) {
	defer t.done("get_probe", time.Now())
	return t.Store.GetProbe(ctx, app, slug)
}
