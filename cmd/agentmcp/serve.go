package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
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

	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/internal/logx"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server"
	"github.com/agentmcp/agentmcp/server/gateway"
	"github.com/agentmcp/agentmcp/server/gateway/admission"
	"github.com/agentmcp/agentmcp/store"
)

type serveOptions struct {
	dbOptions
	addr, logLevel  string
	noMigrate       bool
	shutdownTimeout time.Duration
	keyCacheTTL     time.Duration
	lastKnownFor    time.Duration
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
	gatewayRate     float64
	gatewayAppRate  float64
	secretsKeeper   string
	gatewayTimeout  time.Duration
	gatewaySessions int
	gatewayIdle     time.Duration
	probeMaxBytes   int64
	probeMaxTools   int
	probePerApp     int
	trustedProxies  string
	auditRetention  time.Duration
	idemKeysPerApp  int
	publicURL       string
	allowedOrigins  string
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
	bind(cmd, serveSettings(&o))
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
type backend = app.Backend

// dbOptions are the flags that choose and tune the store.
type dbOptions struct {
	db               string
	maxConns         int
	statementTimeout time.Duration
}

// open opens the store named by --db; noMigrate leaves the schema as it is.
func (o dbOptions) open(ctx context.Context, noMigrate bool) (backend, error) {
	return app.OpenStore(ctx, o.db, app.StoreOptions{MaxConns: o.maxConns, StatementTimeout: o.statementTimeout, NoMigrate: noMigrate})
}

// openStore opens the store named by --db and, with noMigrate, refuses a schema that is behind.
func openStore(ctx context.Context, o dbOptions, noMigrate bool) (backend, error) {
	st, err := o.open(ctx, noMigrate)
	if err != nil {
		return nil, err
	}
	if noMigrate {
		if err := app.CheckMigrated(ctx, st); err != nil {
			st.Close()
			return nil, err
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
	if _, set := os.LookupEnv("GOGC"); !set {
		if lim := debug.SetMemoryLimit(-1); lim < math.MaxInt64 { // no limit: no floor either
			gcFloor(uint64(lim) / 2) // half the memory limit in force
		}
	}
	keeper, err := keeperURL(o.dbOptions, o.secretsKeeper, true, out)
	if err != nil {
		return err
	}
	// Before the app: --public-url's default is the listener's address.
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	base := baseURL(ln.Addr())
	cfg := app.Config{DB: o.db, DBMaxConns: o.maxConns, DBStatementTimeout: o.statementTimeout, NoMigrate: o.noMigrate, SecretsKeeper: keeper,
		Logger: log, CacheSize: o.cacheSize, KeyCacheTTL: o.keyCacheTTL, LastKnownFor: o.lastKnownFor, RequestTimeout: o.requestTimeout,
		RateLimit: o.rateLimit, RateBurst: o.rateBurst, IPRateLimit: o.ipRateLimit,
		GatewayRateLimit: o.gatewayRate, GatewayAppRateLimit: o.gatewayAppRate, MaxServersPerApp: o.maxServers,
		IdempotencyKeysPerApp: o.idemKeysPerApp, PublicURL: cmp.Or(o.publicURL, base), TrustedProxies: proxies, AuditRetention: o.auditRetention,
		Probe:        probe.Options{Timeout: o.probeTimeout, AllowPrivate: o.probePrivate, MaxBytes: o.probeMaxBytes, MaxTools: o.probeMaxTools},
		ProbeOnWrite: o.probeOnWrite, ProbeInterval: o.probeInterval, ProbeWorkers: o.probeWorkers, ProbeWorkersPerApp: o.probePerApp,
		Gateway: gateway.Options{CallTimeout: o.gatewayTimeout, MaxSessions: o.gatewaySessions, SessionIdle: o.gatewayIdle,
			AllowedOrigins: splitList(o.allowedOrigins)},
		Admission: o.admission}
	if o.keyCacheTTL > 0 {
		cfg.Admission.Recheck = o.keyCacheTTL // a stream of a revoked key ends within the key cache's TTL
	}
	if o.cacheSize == 0 {
		cfg.CacheSize = -1 // --cache-size 0 turns it off
	}
	if o.metricsAddr != "" {
		cfg.Registry, cfg.MetricsPath = prometheus.NewRegistry(), "-"
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer func() {
		if err := a.Close(context.Background()); err != nil {
			log.Error("closing", slog.String("error", err.Error()))
		}
	}()
	// After the store: SQLite sizes its read pool by GOMAXPROCS, and more connections than
	// the CPUs can run would only cost their page caches.
	_, envProcs := os.LookupEnv("GOMAXPROCS")
	cur := runtime.GOMAXPROCS(0)
	if n := procs(o.gomaxprocs, envProcs, cur, runtime.NumCPU(), cpuQuota); n != cur {
		runtime.GOMAXPROCS(n)
	}

	if err := bootstrap(ctx, a.Store(), base, out); err != nil {
		ln.Close()
		return err
	}
	if o.metricsAddr != "" {
		go serveMetrics(o.metricsAddr, cfg.Registry, log)
	}
	if o.probePrivate {
		fmt.Fprintln(out, "agentmcp: probes MAY connect to private and loopback addresses (--probe-allow-private): local development only")
	} else {
		fmt.Fprintln(out, "agentmcp: probes connect to public addresses only; for MCP servers on this machine or network, serve with --probe-allow-private (make run ARGS=--probe-allow-private)")
	}
	srv := &http.Server{
		Handler:           a.Handler(),
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
	// Logged before the first request can be answered: the benchmark reads it from its log
	// file once /readyz says ready (the listener already queues connections).
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("api", base+server.BasePath), slog.String("db", a.Backend().(app.Backend).Path()),
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

// splitList splits a comma-separated setting, dropping empty items.
func splitList(list string) []string {
	var out []string
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
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
