// Package app is agentmcp's one composition root: New builds the process (store backend,
// change feed, read cache, keyring, probes, gateway, purgers) once, Handler serves it and
// Close takes it down in order. `agentmcp serve` and the end-to-end tests build it the same
// way, so the tests run what production runs.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentmcp/agentmcp/internal/service"
	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/oauthclient"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/gateway"
	"github.com/agentmcp/agentmcp/server/gateway/admission"
	"github.com/agentmcp/agentmcp/server/gateway/upstream"
	"github.com/agentmcp/agentmcp/server/oauth"
	"github.com/agentmcp/agentmcp/server/registry"
	"github.com/agentmcp/agentmcp/server/rest"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/cache"
	"github.com/agentmcp/agentmcp/store/postgres"
	"github.com/agentmcp/agentmcp/store/sqlite"
)

// Config configures New. The zero value serves a store given in Store with the defaults
// below; `agentmcp serve` fills it from its configuration table.
type Config struct {
	// Store is the backend when set (tests; the caller closes it). Otherwise New opens DB
	// and Close closes it.
	Store store.Store
	// DB is a SQLite file path or a postgres:// URL; DBMaxConns and DBStatementTimeout tune
	// PostgreSQL. NoMigrate refuses a schema that is behind instead of migrating it.
	DB                 string
	DBMaxConns         int
	DBStatementTimeout time.Duration
	NoMigrate          bool
	// SecretsKeeper is the keeper URL that wraps stored credentials' data keys ("": none,
	// credentials cannot be stored).
	SecretsKeeper string

	// Logger receives one line per request and every 5xx. Default: discard.
	Logger *slog.Logger
	// CacheSize is the MCP servers kept in the read cache (default 100,000; negative: no
	// cache).
	CacheSize int
	// KeyCacheTTL is how long a key lookup is remembered (default 10s; negative: never).
	// A revoked key keeps working for at most this long.
	KeyCacheTTL time.Duration
	// LastKnownFor bounds how long, while the store is unreachable, the gateway serves the
	// state it last read (agents, their servers and credentials, known keys); /readyz says
	// degraded meanwhile. Default cache.DefaultLastKnownFor; negative: never (needs the
	// read cache).
	LastKnownFor time.Duration
	// RequestTimeout is every request's deadline, passed down to the store (default 15s).
	RequestTimeout time.Duration
	// RateLimit is each app's requests per second (0: off), with RateBurst at once; per
	// replica. IPRateLimit (default 10 × RateLimit, burst 10 × RateBurst) limits each
	// client address before its key is looked up, against floods of bad keys.
	RateLimit   float64
	RateBurst   int
	IPRateLimit float64
	// GatewayRateLimit is each API key's gateway requests per second (one agent runtime's),
	// GatewayAppRateLimit each app's (all its keys), per replica, each with a fifth of a
	// second's worth at once; 0 takes the defaults (DefaultGatewayRateLimit, 4 × that per
	// app), negative means none. On the gateway, IPRateLimit counts only the requests that
	// fail authentication (a client address past it is refused before its key is checked),
	// so one busy runtime is limited by its key, not by its address.
	GatewayRateLimit    float64
	GatewayAppRateLimit float64
	// MaxServersPerApp bounds each app's MCP servers (default 10,000; negative: no limit).
	MaxServersPerApp int
	// IdempotencyKeysPerApp bounds the idempotency records an app holds at once (default
	// 10,000; negative: no limit); past it, a create with a new key is 429.
	IdempotencyKeysPerApp int
	// PublicURL is agentmcp's base URL as clients reach it (e.g. https://mcp.example.com);
	// the MCP Registry views make agents' gateway URLs and their names' namespace from it,
	// never from request headers. Default: registry.DefaultPublicURL.
	PublicURL string
	// TrustedProxies may set X-Forwarded-For; the client address is the nearest one left of
	// them. Empty: the connection's address, whatever the header says.
	TrustedProxies []netip.Prefix
	// AuditRetention is how long audit events are kept (0: forever).
	AuditRetention time.Duration

	// Probe tunes the probes (POST …/probe, the background runner and the gateway's
	// connections): Timeout default 10s, MaxBytes and MaxTools probe's defaults.
	Probe probe.Options
	// ProbeOnWrite probes a server in the background after a create or a URL change;
	// ProbeInterval re-probes every server this often (0: never). ProbeWorkers (default 4)
	// run at once, ProbeWorkersPerApp of one app (default ProbeWorkers / 2).
	ProbeOnWrite       bool
	ProbeInterval      time.Duration
	ProbeWorkers       int
	ProbeWorkersPerApp int

	// Gateway tunes the agents' MCP endpoints; its Store, Credentials, Logger, Registry and
	// Budget are filled in. Connector defaults to the prober built from Probe, PublicURL to
	// PublicURL.
	Gateway gateway.Options
	// Admission bounds the gateway's event streams, concurrent requests and bytes of
	// upstream results in flight (server/gateway/admission); zero values take its defaults.
	Admission admission.Options
	// OAuth tunes the authorization server of the gateways (server/oauth), served when the
	// backend is a store.OAuthStore; its Store, Agents, Keys, PublicURL and Logger are filled
	// in. OAuthRegisterRate bounds dynamic client registrations per client address (default
	// 0.2/s, burst 10).
	OAuth             oauth.Options
	OAuthRegisterRate float64

	// Registry receives the metrics (default: a new one). MetricsPath serves it on the API
	// port (default /metrics; "-" for none, when it is served elsewhere).
	Registry    *prometheus.Registry
	MetricsPath string

	// Tests may replace parts: Prober runs POST …/probe, Probes is told of creates and URL
	// changes (instead of the runner), ProbeSlots bounds probes at once, Credentials seals
	// and opens MCP servers' credentials (instead of a ring from SecretsKeeper).
	Prober      rest.Prober
	Probes      service.Enqueuer
	ProbeSlots  *probe.Slots
	Credentials *keyring.Service
}

// DefaultKeyCacheTTL is Config.KeyCacheTTL's default.
const DefaultKeyCacheTTL = 10 * time.Second

// DefaultCacheSize is Config.CacheSize's default.
const DefaultCacheSize = 100000

// CacheMaxAge bounds how stale a replica's cache can be if a change never reaches it.
const CacheMaxAge = 30 * time.Second

// App is a built agentmcp process.
type App struct {
	handler http.Handler
	backend store.Store // the database
	api     store.Store // what the handlers use: publishing, cached and timed
	feed    *store.Feed
	outage  *cache.Outage

	closers []func() error // in the order Close runs them
	once    sync.Once
	err     error
}

// New builds the process. On error, whatever it had built is closed.
func New(ctx context.Context, cfg Config) (_ *App, err error) {
	a := &App{}
	defer func() {
		if err != nil {
			a.Close(context.Background())
		}
	}()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = log

	a.backend = cfg.Store
	if a.backend == nil {
		b, err := OpenStore(ctx, cfg.DB, StoreOptions{MaxConns: cfg.DBMaxConns, StatementTimeout: cfg.DBStatementTimeout, NoMigrate: cfg.NoMigrate})
		if err != nil {
			return nil, err
		}
		a.backend = b
		a.defer_(b.Close)
		if cfg.NoMigrate {
			if err := CheckMigrated(ctx, b); err != nil {
				return nil, err
			}
		}
	}

	var stopFeed func()
	bound := cfg.LastKnownFor
	if bound == 0 {
		bound = cache.DefaultLastKnownFor
	}
	a.outage = cache.NewOutage(max(bound, 0), nil)
	var pub store.Publisher
	a.api, a.feed, pub, stopFeed = wireStore(ctx, a.backend, cfg.CacheSize, a.outage, log)
	// Pushed first, run last but the store: the feed's listener outlives every writer.
	a.defer_(func() error { stopFeed(); return nil })

	creds := cfg.Credentials
	if creds == nil {
		ring, err := keyring.Open(ctx, a.backend, cfg.SecretsKeeper)
		if err != nil {
			return nil, err
		}
		a.defer_(ring.Close)
		creds = &keyring.Service{Ring: ring, Store: a.api}
	}

	popt := cfg.Probe
	if popt.Timeout == 0 {
		popt.Timeout = 10 * time.Second
	}
	if popt.StreamLifetime == 0 {
		popt.StreamLifetime = cfg.Admission.StreamLifetime // upstream streams end like the gateway's own
	}
	prober := probe.New(popt)
	workers := cfg.ProbeWorkers
	if workers <= 0 {
		workers = 4
	}
	slots := cfg.ProbeSlots
	if slots == nil {
		slots = probe.NewSlots(workers, cfg.ProbeWorkersPerApp)
	}
	// Servers that take OAuth get their tokens from their connections (when the backend
	// keeps them), every other server its sealed credentials.
	var auths upstream.Credentials = creds
	var upOAuth *oauthclient.Service
	var runner *probe.Runner
	if st, ok := a.backend.(store.UpstreamOAuthStore); ok {
		upOAuth = oauthclient.New(oauthclient.Options{Store: st, Servers: a.api, Keyring: creds, Prober: prober, PublicURL: publicURL(cfg), Logger: log,
			Connected: func(app, slug string) { enqueueProbe(a.api, runner, cfg.ProbeOnWrite, app, slug) }})
		auths = upOAuth
		// Its in-memory tokens follow the feed: a server changed (here or on another
		// replica: its credentials, its existence, a probe after a person connected it).
		a.feed.Observe(func(c store.Change) {
			switch c.Kind {
			case store.ChangeServer, store.ChangeRecord:
				upOAuth.Invalidate(c.AppID, c.Key)
			case store.ChangeReset:
				upOAuth.InvalidateAll()
			}
		})
	}
	runner = probe.NewRunner(a.api, prober, probe.RunnerOptions{Workers: workers, Interval: cfg.ProbeInterval, Logger: log, Credentials: auths.Auth, Slots: slots})
	probes := cfg.Probes
	if probes == nil && cfg.ProbeOnWrite {
		probes = runner
	}
	if cfg.ProbeOnWrite || cfg.ProbeInterval > 0 {
		runner.Start()
		a.defer_(func() error { runner.Stop(); return nil })
	}

	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	gw := cfg.Gateway
	gw.Credentials, gw.Logger, gw.Registry = auths, log, reg
	if gw.Connector == nil {
		gw.Connector = prober
	}
	if gw.PublicURL == "" {
		gw.PublicURL = cfg.PublicURL
	}
	var restProber rest.Prober = prober
	if cfg.Prober != nil {
		restProber = cfg.Prober
	}
	adm := admission.New(cfg.Admission)
	gw.Budget, gw.AdmitSession = adm.Bytes, adm.Session
	var oauthStore store.OAuthStore
	if st, ok := a.backend.(store.OAuthStore); ok { // the backend's: the decorators have none of it
		oauthStore = oauthRevocations{st, pub}
	}
	h, g, err := newHandler(cfg, handlerParts{st: a.api, reg: reg, creds: creds, prober: restProber, probes: probes, slots: slots,
		gateway: gw, admission: adm, oauth: oauthStore, upstreamOAuth: upOAuth, feed: a.feed, outage: a.outage})
	if err != nil {
		return nil, err
	}
	a.handler = h
	a.defer_(func() error { g.Close(); return nil })
	sub := a.feed.Subscribe(1024)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case c := <-sub.C:
				g.Changed(c)
				adm.Changed(c)
			case <-stop:
				return
			}
		}
	}()
	a.defer_(func() error { sub.Close(); close(stop); <-done; return nil })

	pctx, stopPurge := context.WithCancel(context.WithoutCancel(ctx))
	var purgers sync.WaitGroup
	purgers.Go(func() {
		purge(pctx, log, "idempotency keys", 10*time.Minute, func(ctx context.Context) (int64, error) {
			return a.api.PurgeIdempotency(ctx, time.Now().Add(-24*time.Hour).UnixMilli())
		})
	})
	if st, ok := a.backend.(store.UpstreamOAuthStore); ok {
		purgers.Go(func() {
			purge(pctx, log, "expired OAuth authorizations", 10*time.Minute, func(ctx context.Context) (int64, error) {
				return st.PurgeOAuthStates(ctx, time.Now().UnixMilli())
			})
		})
	}
	if r := cfg.AuditRetention; r > 0 {
		purgers.Go(func() {
			purge(pctx, log, "audit events", min(max(r/10, time.Second), 10*time.Minute), func(ctx context.Context) (int64, error) {
				return a.api.PurgeAuditEvents(ctx, time.Now().Add(-r).UnixMilli())
			})
		})
	}
	a.defer_(func() error { stopPurge(); purgers.Wait(); return nil })
	return a, nil
}

// publicURL is the base of the URLs agentmcp gives out (registry.DefaultPublicURL unless set).
func publicURL(cfg Config) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	return registry.DefaultPublicURL
}

// enqueueProbe probes a server that was just connected, so its health says so.
func enqueueProbe(st store.Store, runner *probe.Runner, on bool, app, slug string) {
	if runner == nil || !on {
		return
	}
	if m, err := st.GetMCPServer(context.Background(), app, slug); err == nil {
		runner.Enqueue(store.ServerRef{AppID: app, Slug: slug, URL: m.URL})
	}
}

// defer_ adds f to what Close runs; the last added runs first.
func (a *App) defer_(f func() error) { a.closers = append(a.closers, f) }

// Handler is the HTTP handler of everything agentmcp serves on its API port.
func (a *App) Handler() http.Handler { return a.handler }

// Store is the store the handlers use (publishing its changes, behind the read cache):
// tests seed through it so that the cache sees their writes as it sees the API's.
func (a *App) Store() store.Store { return a.api }

// Backend is the database itself.
func (a *App) Backend() store.Store { return a.backend }

// Feed is the change feed: this process's writes, and on PostgreSQL every replica's.
func (a *App) Feed() *store.Feed { return a.feed }

// Outage tracks the store's outages (the bound of last-known state, /readyz's degraded).
func (a *App) Outage() *cache.Outage { return a.outage }

// Close stops the background work (purgers, gateway, probes, the feed) and closes what New
// opened, newest first. ctx bounds nothing yet: each step ends its own work.
func (a *App) Close(ctx context.Context) error {
	a.once.Do(func() {
		var errs []error
		for i := len(a.closers) - 1; i >= 0; i-- {
			errs = append(errs, a.closers[i]())
		}
		a.err = errors.Join(errs...)
	})
	return a.err
}

// StoreOptions tune OpenStore.
type StoreOptions struct {
	MaxConns         int
	StatementTimeout time.Duration
	NoMigrate        bool // leave the schema as it is
}

// Backend is a store with what the commands need beyond store.Store.
type Backend interface {
	store.Store
	MigrationStatus(ctx context.Context) ([]store.MigrationStatus, error)
	Path() string
}

// OpenStore opens db: a postgres:// or postgresql:// URL selects PostgreSQL, anything else
// is a SQLite file. With NoMigrate it leaves the schema as it is (see CheckMigrated).
func OpenStore(ctx context.Context, db string, o StoreOptions) (Backend, error) {
	if postgres.IsURL(db) {
		return postgres.Open(ctx, db, postgres.Options{MaxConns: int32(o.MaxConns), StatementTimeout: o.StatementTimeout, NoMigrate: o.NoMigrate})
	}
	return sqlite.Open(ctx, db, sqlite.Options{NoMigrate: o.NoMigrate})
}

// CheckMigrated refuses a schema that is behind this binary's migrations.
func CheckMigrated(ctx context.Context, st Backend) error {
	ms, err := st.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if !m.Applied {
			return fmt.Errorf("database is behind: migration %04d_%s is not applied; run `agentmcp migrate up` or drop --no-migrate", m.Version, m.Name)
		}
	}
	return nil
}

// wireStore puts the change feed and the read cache in front of st. On PostgreSQL the feed
// carries the other replicas' writes (postgres Listen) and this one's reach them
// (postgres Notifier); the cache serves only while the feed is healthy, and no entry for
// longer than CacheMaxAge. stop ends the feed after sending what it still holds.
func wireStore(ctx context.Context, st store.Store, cacheSize int, outage *cache.Outage, log *slog.Logger) (api store.Store, feed *store.Feed, pub store.Publisher, stop func()) {
	feed = store.NewFeed()
	opt := cache.Options{Outage: outage}
	stop = func() {}
	if pg, ok := st.(*postgres.Store); ok {
		feed.SetHealthy(false) // until the listener listens
		lctx, stopListen := context.WithCancel(context.WithoutCancel(ctx))
		n := pg.Notifier(log)
		done := make(chan struct{}, 2)
		go func() { pg.Listen(lctx, feed, log); done <- struct{}{} }()
		go func() { n.Run(lctx); done <- struct{}{} }()
		stop = func() { stopListen(); <-done; <-done }
		pub = store.Tee(feed, n)
		opt.MaxAge = CacheMaxAge
	} else {
		pub = feed
	}
	api = store.Publishing(st, pub)
	if cacheSize == 0 {
		cacheSize = DefaultCacheSize
	}
	if cacheSize > 0 {
		// Observing the feed, it is invalidated before the feed's subscribers (the gateway)
		// hear of a change and read again.
		opt.Feed = feed
		api = cache.New(api, cacheSize, opt)
	}
	return api, feed, pub, stop
}

// purge deletes what has expired (idempotency keys after a day, audit events after the
// retention) at start and then every so often, until ctx ends.
func purge(ctx context.Context, log *slog.Logger, what string, every time.Duration, del func(context.Context) (int64, error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := del(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
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
