package gateway

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentmcp/agentmcp/server/gateway/aggregate"
)

// metrics of gateway calls, by app, server and tool. The number of series is bounded:
// past maxSeries, new tools count under tool="_other".
type metrics struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	mu       sync.Mutex
	seen     map[[3]string]bool
}

const maxSeries = 5000

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentmcp_gateway_calls_total",
			Help: "Gateway tools/call by app, MCP server, tool and outcome (ok, tool_error, error, timeout, unavailable)."},
			[]string{"app_id", "server", "tool", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "agentmcp_gateway_call_duration_seconds",
			Help:    "Gateway tools/call latency by app, MCP server and tool, upstream included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"app_id", "server", "tool"}),
		seen: map[[3]string]bool{},
	}
	reg.MustRegister(m.calls, m.duration)
	return m
}

// observe counts a call and writes its log line: never the arguments.
func (g *Gateway) observe(a *agentState, r aggregate.Route, outcome string, d time.Duration) {
	tool := r.Name
	k := [3]string{a.app, r.Slug, tool}
	g.m.mu.Lock()
	if !g.m.seen[k] {
		if len(g.m.seen) >= maxSeries {
			tool = "_other"
		} else {
			g.m.seen[k] = true
		}
	}
	g.m.mu.Unlock()
	g.m.calls.WithLabelValues(a.app, r.Slug, tool, outcome).Inc()
	g.m.duration.WithLabelValues(a.app, r.Slug, tool).Observe(d.Seconds())
	g.log.LogAttrs(context.Background(), slog.LevelInfo, "gateway call",
		slog.String("app_id", a.app), slog.String("agent", a.uid), slog.String("server", r.Slug), slog.String("tool", r.Name),
		slog.Int64("duration_us", d.Microseconds()), slog.String("outcome", outcome))
}
