package httpx

import (
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the HTTP request metrics. Routes are echo's templates
// (/v3/…/mcp-servers/:slug), never a slug, so label values stay few.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	series   sync.Map // requestKey → requestSeries: label hashing once per series, not per request
	catchAll map[string]bool
}

type requestKey struct {
	method, route string
	status        int
}

type requestSeries struct {
	count prometheus.Counter
	dur   prometheus.Observer
}

// NewMetrics registers the request metrics on reg. Requests that only matched one of the
// catchAll routes (echo's not-found handlers, e.g. "/v3/*") count as route "unmatched".
func NewMetrics(reg prometheus.Registerer, catchAll ...string) *Metrics {
	m := &Metrics{
		catchAll: map[string]bool{"": true, "/*": true},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentmcp_http_requests_total", Help: "HTTP requests by method, route template and status."},
			[]string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "agentmcp_http_request_duration_seconds", Help: "HTTP request latency by method, route template and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, []string{"method", "route", "status"}),
	}
	for _, r := range catchAll {
		m.catchAll[r] = true
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *Metrics) observe(c echo.Context, d time.Duration) {
	route := c.Path()
	if m.catchAll[route] {
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
