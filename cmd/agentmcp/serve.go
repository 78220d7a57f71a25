package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/agentmcp/agentmcp/internal/logx"
	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server"
	"github.com/agentmcp/agentmcp/server/gateway"
	"github.com/agentmcp/agentmcp/server/gateway/admission"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/cache"
	"github.com/agentmcp/agentmcp/store/postgres"
	"github.com/agentmcp/agentmcp/store/sqlite"
)

type serveOptions struct {
	dbOptions
	addr, logLevel  string
	noMigrate       bool
	shutdownTimeout time.Duration
	keyCacheTTL     time.Duration
	pprofAddr       string
	cacheSize       int
	memoryLimit     int64
	gomaxprocs      int
	probeOnWrite    bool
	probeInterval   time.Duration
	probeWorkers    int
	probeTimeout    time.Duration
	probePrivate    bool
	maxServers      int
	requestTimeout  time.Duration
	metricsAddr     string
	rateLimit       float64
	rateBurst       int
	ipRateLimit     float64
	secretsKeeper   string
	gatewayTimeout  time.Duration
	probeMaxBytes   int64
	probeMaxTools   int
	probePerApp     int
	trustedProxies  string
	auditRetention  time.Duration
	idemKeysPerApp  int
	publicURL       string
	admission       admission.Options
}

func serveCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API",
		Long: "Serve the API under /v3. On the first start with an empty database it creates app\n" +
			"\"default\" and prints a fullAccess key for it and a curl command to try.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return serve(cmd.Context(), o, cmd.OutOrStdout()) },
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", envOr("AGENTMCP_ADDR", ":8080"), "listen address (env AGENTMCP_ADDR)")
	dbFlags(cmd, &o.dbOptions)
	f.StringVar(&o.logLevel, "log-level", envOr("AGENTMCP_LOG_LEVEL", "info"), "debug, info, warn or error (env AGENTMCP_LOG_LEVEL)")
	f.BoolVar(&o.noMigrate, "no-migrate", envOr("AGENTMCP_NO_MIGRATE", "") == "true", "do not migrate the database at start-up; refuse to start if it is behind (env AGENTMCP_NO_MIGRATE=true)")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight requests may take to finish on SIGINT/SIGTERM")
	f.IntVar(&o.cacheSize, "cache-size", envInt("AGENTMCP_CACHE_SIZE", 100000), "MCP servers kept in the in-process read cache (on PostgreSQL kept coherent with the other replicas by the change feed); 0 turns it off (env AGENTMCP_CACHE_SIZE)")
	f.Int64Var(&o.memoryLimit, "memory-limit", 56<<20, "soft limit in bytes on the Go runtime's memory, so the GC returns memory before RSS grows; 0 = none; GOMEMLIMIT, when set, wins")
	f.IntVar(&o.gomaxprocs, "gomaxprocs", 0, "Go's GOMAXPROCS; 0 = twice the CPUs unless a CPU quota applies, then Go's choice; GOMAXPROCS, when set, wins")
	f.BoolVar(&o.probeOnWrite, "probe-on-write", envOr("AGENTMCP_PROBE_ON_WRITE", "true") == "true", "probe a server in the background after a create or a URL change (env AGENTMCP_PROBE_ON_WRITE)")
	f.DurationVar(&o.probeInterval, "probe-interval", time.Hour, "re-probe every server this often, with jitter; 0 = never")
	f.IntVar(&o.probeWorkers, "probe-workers", 4, "background probes at once")
	f.DurationVar(&o.probeTimeout, "probe-timeout", 10*time.Second, "time limit of one probe")
	f.BoolVar(&o.probePrivate, "probe-allow-private", envOr("AGENTMCP_PROBE_ALLOW_PRIVATE", "") == "true", "let probes connect to loopback, private and other non-public addresses (local development only) (env AGENTMCP_PROBE_ALLOW_PRIVATE=true)")
	f.Float64Var(&o.rateLimit, "rate-limit", envFloat("AGENTMCP_RATE_LIMIT", 50), "requests per second per app, per replica; 0 = no limit (env AGENTMCP_RATE_LIMIT)")
	f.IntVar(&o.rateBurst, "rate-burst", envInt("AGENTMCP_RATE_BURST", 100), "requests an app may make at once (env AGENTMCP_RATE_BURST)")
	f.Float64Var(&o.ipRateLimit, "ip-rate-limit", 0, "requests per second per client address before the key is checked (default 10 × --rate-limit, burst 10 × --rate-burst)")
	f.StringVar(&o.metricsAddr, "metrics-addr", envOr("AGENTMCP_METRICS_ADDR", ""), "serve /metrics on this address instead of the API port (env AGENTMCP_METRICS_ADDR)")
	f.IntVar(&o.maxServers, "max-servers-per-app", 10000, "the most MCP servers an app may have (negative: no limit)")
	f.DurationVar(&o.requestTimeout, "request-timeout", 15*time.Second, "deadline of every request, database work included")
	f.StringVar(&o.pprofAddr, "pprof-addr", "", "serve Go's pprof profiles on this separate address (e.g. 127.0.0.1:6060); off when empty")
	f.DurationVar(&o.keyCacheTTL, "key-cache-ttl", server.DefaultKeyCacheTTL, "how long an API key lookup is cached; a revoked key works for at most this long")
	f.DurationVar(&o.gatewayTimeout, "gateway-call-timeout", 30*time.Second, "time limit of one tools/call an agent's gateway forwards to an MCP server")
	secretsFlags(cmd, &o.secretsKeeper)
	f.Int64Var(&o.probeMaxBytes, "probe-max-bytes", probe.DefaultMaxBytes, "bytes one probe reads from a server, all responses together, and keeps of its tools")
	f.IntVar(&o.probeMaxTools, "probe-max-tools", probe.DefaultMaxTools, "tools one probe keeps")
	f.IntVar(&o.probePerApp, "probe-workers-per-app", 0, "probes one app may have running at once, POST …/probe and background together (default --probe-workers / 2)")
	f.StringVar(&o.trustedProxies, "trusted-proxies", envOr("AGENTMCP_TRUSTED_PROXIES", ""), "comma-separated CIDRs of the proxies whose X-Forwarded-For is believed; empty: the connection's address (env AGENTMCP_TRUSTED_PROXIES)")
	f.DurationVar(&o.auditRetention, "audit-retention", 90*24*time.Hour, "how long audit events are kept; 0 = forever")
	f.IntVar(&o.idemKeysPerApp, "idempotency-keys-per-app", 10000, "Idempotency-Keys an app may hold at once (a day's worth); negative: no limit")
	a := &o.admission
	f.IntVar(&a.StreamsPerKey, "gateway-streams-per-key", envInt("AGENTMCP_GATEWAY_STREAMS_PER_KEY", admission.DefaultStreamsPerKey), "standing GET event streams one API key may hold on the gateways; past it 429 (env AGENTMCP_GATEWAY_STREAMS_PER_KEY)")
	f.IntVar(&a.StreamsPerAgent, "gateway-streams-per-agent", envInt("AGENTMCP_GATEWAY_STREAMS_PER_AGENT", admission.DefaultStreamsPerAgent), "standing GET event streams on one agent's gateway (env AGENTMCP_GATEWAY_STREAMS_PER_AGENT)")
	f.IntVar(&a.StreamsPerApp, "gateway-streams-per-app", envInt("AGENTMCP_GATEWAY_STREAMS_PER_APP", admission.DefaultStreamsPerApp), "standing GET event streams on one app's gateways (env AGENTMCP_GATEWAY_STREAMS_PER_APP)")
	f.IntVar(&a.CallsPerAgent, "gateway-calls-per-agent", envInt("AGENTMCP_GATEWAY_CALLS_PER_AGENT", admission.DefaultCallsPerAgent), "concurrent POST/DELETE requests to one agent's gateway; past it 429 (env AGENTMCP_GATEWAY_CALLS_PER_AGENT)")
	f.IntVar(&a.CallsPerApp, "gateway-calls-per-app", envInt("AGENTMCP_GATEWAY_CALLS_PER_APP", admission.DefaultCallsPerApp), "concurrent POST/DELETE requests to one app's gateways (env AGENTMCP_GATEWAY_CALLS_PER_APP)")
	f.Int64Var(&a.BytesPerApp, "gateway-bytes-per-app", int64(envInt("AGENTMCP_GATEWAY_BYTES_PER_APP", admission.DefaultBytesPerApp)), "bytes of MCP server results one app's running gateway calls may hold; past it the call fails (env AGENTMCP_GATEWAY_BYTES_PER_APP)")
	f.Int64Var(&a.BytesTotal, "gateway-bytes-total", int64(envInt("AGENTMCP_GATEWAY_BYTES_TOTAL", admission.DefaultBytesTotal)), "bytes of MCP server results all running gateway calls may hold (env AGENTMCP_GATEWAY_BYTES_TOTAL)")
	f.IntVar(&a.FDReserve, "fd-reserve", envInt("AGENTMCP_FD_RESERVE", admission.DefaultFDReserve), "file descriptors (of RLIMIT_NOFILE) kept for everything but new gateway event streams (env AGENTMCP_FD_RESERVE)")
	f.DurationVar(&a.StreamLifetime, "gateway-stream-lifetime", admission.DefaultStreamLifetime, "a gateway event stream ends after this long (its client reconnects)")
	f.StringVar(&o.publicURL, "public-url", envOr("AGENTMCP_PUBLIC_URL", ""), "agentmcp's base URL as clients reach it (e.g. https://mcp.example.com): the registry view's names and gateway URLs; default from --addr, never from request headers (env AGENTMCP_PUBLIC_URL)")
	return cmd
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(logx.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// backend is a store with what the commands need beyond store.Store.
type backend interface {
	store.Store
	MigrationStatus(ctx context.Context) ([]store.MigrationStatus, error)
	Path() string
}

// dbOptions are the flags that choose and tune the store.
type dbOptions struct {
	db               string
	maxConns         int
	statementTimeout time.Duration
}

// open opens the store named by --db: a postgres:// or postgresql:// URL selects
// PostgreSQL, anything else is a SQLite file. noMigrate leaves the schema as it is.
func (o dbOptions) open(ctx context.Context, noMigrate bool) (backend, error) {
	if postgres.IsURL(o.db) {
		return postgres.Open(ctx, o.db, postgres.Options{MaxConns: int32(o.maxConns), StatementTimeout: o.statementTimeout, NoMigrate: noMigrate})
	}
	return sqlite.Open(ctx, o.db, sqlite.Options{NoMigrate: noMigrate})
}

// openStore opens the store and, with noMigrate, refuses a schema that is behind.
func openStore(ctx context.Context, o dbOptions, noMigrate bool) (backend, error) {
	st, err := o.open(ctx, noMigrate)
	if err != nil {
		return nil, err
	}
	if noMigrate {
		ms, err := st.MigrationStatus(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		for _, m := range ms {
			if !m.Applied {
				st.Close()
				return nil, fmt.Errorf("database is behind: migration %04d_%s is not applied; run `agentmcp migrate up` or drop --no-migrate", m.Version, m.Name)
			}
		}
	}
	return st, nil
}

func serve(ctx context.Context, o serveOptions, out io.Writer) error {
	log, err := newLogger(o.logLevel, os.Stderr)
	if err != nil {
		return err
	}
	defer logx.Drain(log) // the access lines gathered, and any of requests that outlive serve
	proxies, err := parsePrefixes(o.trustedProxies)
	if err != nil {
		return err
	}
	if o.gomaxprocs < 0 || o.gomaxprocs > 1024 {
		return fmt.Errorf("--gomaxprocs %d: want 0 (automatic) or 1 to 1024", o.gomaxprocs)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set && o.memoryLimit > 0 {
		debug.SetMemoryLimit(o.memoryLimit)
	}
	st, err := openStore(ctx, o.dbOptions, o.noMigrate)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing the database", slog.String("error", err.Error()))
		}
	}()
	// After the store: SQLite sizes its read pool by GOMAXPROCS, and more connections than
	// the CPUs can run would only cost their page caches.
	_, envProcs := os.LookupEnv("GOMAXPROCS")
	cur := runtime.GOMAXPROCS(0)
	if n := procs(o.gomaxprocs, envProcs, cur, runtime.NumCPU(), cpuQuota); n != cur {
		runtime.GOMAXPROCS(n)
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	base := baseURL(ln.Addr())
	if err := bootstrap(ctx, st, base, out); err != nil {
		ln.Close()
		return err
	}

	ring, err := openCredentials(ctx, st, o.dbOptions, o.secretsKeeper, out)
	if err != nil {
		ln.Close()
		return err
	}
	defer ring.Close()

	api, feed, stopFeed := wireStore(ctx, st, o.cacheSize, log)
	defer stopFeed()
	creds := &keyring.Service{Ring: ring, Store: api}
	prober := probe.New(probe.Options{Timeout: o.probeTimeout, AllowPrivate: o.probePrivate, MaxBytes: o.probeMaxBytes, MaxTools: o.probeMaxTools})
	slots := probe.NewSlots(o.probeWorkers, o.probePerApp)
	runner := probe.NewRunner(api, prober, probe.RunnerOptions{Workers: o.probeWorkers, Interval: o.probeInterval, Logger: log, Credentials: creds.Header, Slots: slots})
	cfg := server.Config{Logger: log, KeyCacheTTL: o.keyCacheTTL, Prober: prober, MaxServersPerApp: o.maxServers, RequestTimeout: o.requestTimeout,
		RateLimit: o.rateLimit, RateBurst: o.rateBurst, IPRateLimit: o.ipRateLimit, Credentials: creds, Feed: feed,
		ProbeSlots: slots, TrustedProxies: proxies, IdempotencyKeysPerApp: o.idemKeysPerApp, PublicURL: cmp.Or(o.publicURL, base),
		Gateway: gateway.Options{Connector: prober, CallTimeout: o.gatewayTimeout}, Admission: o.admission}
	if o.keyCacheTTL > 0 {
		cfg.Admission.Recheck = o.keyCacheTTL // a stream of a revoked key ends within the key cache's TTL
	}
	if o.probeOnWrite {
		cfg.Probes = runner
	}
	if o.metricsAddr != "" {
		cfg.Registry, cfg.MetricsPath = prometheus.NewRegistry(), "-"
		go serveMetrics(o.metricsAddr, cfg.Registry, log)
	}
	if o.probeOnWrite || o.probeInterval > 0 {
		runner.Start()
		defer runner.Stop()
	}
	if o.probePrivate {
		fmt.Fprintln(out, "agentmcp: probes MAY connect to private and loopback addresses (--probe-allow-private): local development only")
	} else {
		fmt.Fprintln(out, "agentmcp: probes connect to public addresses only; for MCP servers on this machine or network, serve with --probe-allow-private (make run ARGS=--probe-allow-private)")
	}
	e, err := server.New(cfg, api)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20, // past it net/http answers 431 in text/plain; past httpx.MaxHeaderBytes, the API does in JSON
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if o.pprofAddr != "" {
		go servePprof(o.pprofAddr, log)
	}
	go purge(ctx, log, "idempotency keys", 10*time.Minute, func(ctx context.Context) (int64, error) {
		return api.PurgeIdempotency(ctx, time.Now().Add(-24*time.Hour).UnixMilli())
	})
	if o.auditRetention > 0 {
		go purge(ctx, log, "audit events", min(max(o.auditRetention/10, time.Second), 10*time.Minute), func(ctx context.Context) (int64, error) {
			return api.PurgeAuditEvents(ctx, time.Now().Add(-o.auditRetention).UnixMilli())
		})
	}
	// Logged before the first request can be answered: the benchmark reads it from its log
	// file once /readyz says ready (the listener already queues connections).
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("api", base+server.BasePath), slog.String("db", st.Path()),
		slog.Int("gomaxprocs", runtime.GOMAXPROCS(0)))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", slog.Duration("timeout", o.shutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// wireStore puts the change feed and the read cache in front of st. On PostgreSQL the feed
// carries the other replicas' writes (postgres Listen) and this one's reach them
// (postgres Notifier); the cache serves only while the feed is healthy, and no entry for
// longer than cacheMaxAge. stop ends the feed after sending what it still holds.
func wireStore(ctx context.Context, st store.Store, cacheSize int, log *slog.Logger) (api store.Store, feed *store.Feed, stop func()) {
	feed = store.NewFeed()
	var opt cache.Options
	stop = func() {}
	if pg, ok := st.(*postgres.Store); ok {
		feed.SetHealthy(false) // until the listener listens
		lctx, stopListen := context.WithCancel(context.WithoutCancel(ctx))
		n := pg.Notifier(log)
		done := make(chan struct{}, 2)
		go func() { pg.Listen(lctx, feed, log); done <- struct{}{} }()
		go func() { n.Run(lctx); done <- struct{}{} }()
		stop = func() { stopListen(); <-done; <-done }
		api = store.Publishing(st, store.Tee(feed, n))
		opt.MaxAge = cacheMaxAge
	} else {
		api = store.Publishing(st, feed)
	}
	if cacheSize > 0 {
		// Observing the feed, it is invalidated before the feed's subscribers (the gateway)
		// hear of a change and read again.
		opt.Feed = feed
		api = cache.New(api, cacheSize, opt)
	}
	return api, feed, stop
}

// cacheMaxAge bounds how stale a replica's cache can be if a change never reaches it.
const cacheMaxAge = 30 * time.Second

// purge deletes what has expired (idempotency keys after a day, audit events after the
// retention) at start and then every so often.
func purge(ctx context.Context, log *slog.Logger, what string, every time.Duration, del func(context.Context) (int64, error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := del(ctx); err != nil {
			log.Warn("purging "+what, slog.String("error", err.Error()))
		} else if n > 0 {
			log.Info("purged "+what, slog.Int64("count", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// parsePrefixes reads --trusted-proxies: CIDRs, or single addresses, separated by commas.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("--trusted-proxies: %q is not a CIDR or an address", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}

// serveMetrics exposes the registry on its own listener.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	log.Info("metrics listening", slog.String("addr", addr))
	if err := http.ListenAndServe(addr, mux); err != nil {
		log.Error("metrics", slog.String("error", err.Error()))
	}
}

// servePprof exposes net/http/pprof on its own listener, never on the API port.
func servePprof(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("pprof listening", slog.String("addr", addr))
	if err := http.ListenAndServe(addr, mux); err != nil {
		log.Error("pprof", slog.String("error", err.Error()))
	}
}

// baseURL is how a local user reaches addr.
func baseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() || ip.IsLoopback() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// bootstrap makes app "default" and a key on a database with no apps, and tells the user
// how to make a first call. The key is printed once, to out, never to the logs.
func bootstrap(ctx context.Context, st store.Store, base string, out io.Writer) error {
	apps, err := st.ListApps(ctx)
	if err != nil {
		return err
	}
	if len(apps) > 0 {
		fmt.Fprintf(out, "agentmcp: serving %s%s, API reference at %s/docs — need a key? agentmcp keys create --app %s\nWeb console: %s/console\n", base, server.BasePath, base, apps[0].ID, base)
		return nil
	}
	if _, err := st.CreateApp(ctx, "default"); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	k, secret := store.NewAPIKey("default", store.ScopeFullAccess)
	if err := st.CreateAPIKey(ctx, k); err != nil {
		return err
	}
	fmt.Fprintf(out, `
agentmcp: first start — created app "default" with a fullAccess API key (shown only now):

    %s

Try it:

    curl -s -X POST %s%s/ai-agents/agent-builder/mcp-servers \
      -H 'apikey: %s' -H 'Content-Type: application/json' \
      -d '{"name":"Example Server","slug":"example-server","url":"https://mcp.example.com/mcp"}'

    curl -s %s%s/ai-agents/agent-builder/mcp-servers -H 'apikey: %s'

For the CLI and the README's walkthrough:

    export AGENTMCP_URL=%s%s AGENTMCP_API_KEY=%s

API reference: %s/docs (the spec: %s/openapi.yaml)
Web console:   %s/console (sign in with the key above)
Agent MCP:     %s%s/ai-agents/agent-builder/agents/{uid}/mcp (Authorization: Bearer <key>)
`, secret, base, server.BasePath, secret, base, server.BasePath, secret, base, server.BasePath, secret, base, base, base, base, server.BasePath)
	return nil
}
