package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/gateway/admission"
	"github.com/agentmcp/agentmcp/store/cache"
)

// setting is one row of the configuration table: a flag, the environment variable it falls
// back to, its default and its help. serve builds its flags from the table, and the
// README's Configuration table lists the same rows (TestConfigurationTableInREADME).
type setting struct {
	flag, env string
	ptr       any    // *string, *bool, *int, *int64, *float64 or *time.Duration
	def       any    // of ptr's element type
	shown     string // the default as the README shows it, when not def's own text
	help      string
	// persistent flags are also read by the command's subcommands (the database).
	persistent bool
}

// bind defines the settings' flags on cmd, each falling back to its environment variable.
func bind(cmd *cobra.Command, ss []setting) {
	for _, s := range ss {
		f := cmd.Flags()
		if s.persistent {
			f = cmd.PersistentFlags()
		}
		help := s.help + " (env " + s.env + ")"
		switch p := s.ptr.(type) {
		case *string:
			f.StringVar(p, s.flag, s.def.(string), help)
		case *bool:
			f.BoolVar(p, s.flag, s.def.(bool), help)
		case *int:
			f.IntVar(p, s.flag, s.def.(int), help)
		case *int64:
			f.Int64Var(p, s.flag, s.def.(int64), help)
		case *float64:
			f.Float64Var(p, s.flag, s.def.(float64), help)
		case *time.Duration:
			f.DurationVar(p, s.flag, s.def.(time.Duration), help)
		default:
			panic(fmt.Sprintf("setting --%s: unsupported type %T", s.flag, s.ptr))
		}
		fromEnv(f, s.flag, s.env)
	}
}

// defaultText is the default as the README shows it.
func (s setting) defaultText() string {
	if s.shown != "" {
		return s.shown
	}
	if d, ok := s.def.(time.Duration); ok { // 1h, not 1h0m0s
		t := d.String()
		if strings.HasSuffix(t, "m0s") {
			t = strings.TrimSuffix(t, "0s")
		}
		if strings.HasSuffix(t, "h0m") {
			t = strings.TrimSuffix(t, "0m")
		}
		return t
	}
	return fmt.Sprint(s.def)
}

// dbSettings choose and tune the store; every command that opens it has them.
func dbSettings(o *dbOptions) []setting {
	return []setting{
		{flag: "db", env: "AGENTMCP_DB", ptr: &o.db, def: defaultDB, persistent: true,
			help: "database: a SQLite file path (created with its directory), or a postgres:// or postgresql:// URL"},
		{flag: "db-max-conns", env: "AGENTMCP_DB_MAX_CONNS", ptr: &o.maxConns, def: 0, shown: "max(4, CPUs)", persistent: true,
			help: "PostgreSQL pool size per replica; 0 = max(4, CPUs)"},
		{flag: "db-statement-timeout", env: "AGENTMCP_DB_STATEMENT_TIMEOUT", ptr: &o.statementTimeout, def: 10 * time.Second, persistent: true,
			help: "PostgreSQL statement timeout"},
	}
}

// secretsSetting is the keeper of stored credentials' data keys.
func secretsSetting(keeper *string) setting {
	return setting{flag: "secrets-keeper", env: "AGENTMCP_SECRETS_KEEPER", ptr: keeper, def: "", shown: "SQLite: a key file beside the database",
		help: "keeper URL that wraps the data keys of stored credentials: base64key://…, or " +
			"awskms://, gcpkms://, azurekeyvault://, hashivault:// in binaries built with -tags kms_aws,kms_gcp,kms_azure,kms_vault " +
			"(default with SQLite: a local key file beside the database, made on first start; with PostgreSQL: none, credentials cannot be stored)"}
}

// serveSettings is serve's configuration table.
func serveSettings(o *serveOptions) []setting {
	a := &o.admission
	ss := []setting{
		{flag: "addr", env: "AGENTMCP_ADDR", ptr: &o.addr, def: ":8080", help: "listen address"},
	}
	ss = append(ss, dbSettings(&o.dbOptions)...)
	ss = append(ss, secretsSetting(&o.secretsKeeper))
	return append(ss, []setting{
		{flag: "log-level", env: "AGENTMCP_LOG_LEVEL", ptr: &o.logLevel, def: "info", help: "debug, info, warn or error; JSON lines on stderr, one per request, never keys or bodies"},
		{flag: "no-migrate", env: "AGENTMCP_NO_MIGRATE", ptr: &o.noMigrate, def: false, help: "do not migrate the database at start-up; refuse to start if it is behind"},
		{flag: "public-url", env: "AGENTMCP_PUBLIC_URL", ptr: &o.publicURL, def: "", shown: "from --addr",
			help: "agentmcp's base URL as clients reach it (e.g. https://mcp.example.com): the registry view's names and gateway URLs, the OAuth issuer, the gateway's allowed origin; default from --addr, never from request headers"},
		{flag: "allowed-origins", env: "AGENTMCP_ALLOWED_ORIGINS", ptr: &o.allowedOrigins, def: "", shown: "none",
			help: "comma-separated browser origins (scheme://host[:port]) besides --public-url's that may call the agents' gateways"},
		{flag: "shutdown-timeout", env: "AGENTMCP_SHUTDOWN_TIMEOUT", ptr: &o.shutdownTimeout, def: 15 * time.Second, help: "how long in-flight requests may take to finish on SIGINT/SIGTERM"},
		{flag: "request-timeout", env: "AGENTMCP_REQUEST_TIMEOUT", ptr: &o.requestTimeout, def: 15 * time.Second, help: "deadline of every request, database work included"},
		{flag: "cache-size", env: "AGENTMCP_CACHE_SIZE", ptr: &o.cacheSize, def: app.DefaultCacheSize,
			help: "MCP servers kept in the in-process read cache (on PostgreSQL kept coherent with the other replicas by the change feed); 0 turns it off"},
		{flag: "key-cache-ttl", env: "AGENTMCP_KEY_CACHE_TTL", ptr: &o.keyCacheTTL, def: app.DefaultKeyCacheTTL, help: "how long an API key lookup is cached; a revoked key works for at most this long"},
		{flag: "last-known-for", env: "AGENTMCP_LAST_KNOWN_FOR", ptr: &o.lastKnownFor, def: cache.DefaultLastKnownFor,
			help: "while the database is unreachable, the gateways serve what they last knew (agents, servers, credentials, known keys) for at most this long; /readyz says degraded meanwhile; negative = never"},
		{flag: "memory-limit", env: "AGENTMCP_MEMORY_LIMIT", ptr: &o.memoryLimit, def: int64(56 << 20), shown: "56 MiB",
			help: "soft limit in bytes on the Go runtime's memory, so the GC returns memory before RSS grows; 0 = none; GOMEMLIMIT, when set, wins"},
		{flag: "gomaxprocs", env: "AGENTMCP_GOMAXPROCS", ptr: &o.gomaxprocs, def: 0, shown: "twice the CPUs",
			help: "Go's GOMAXPROCS; 0 = twice the CPUs unless a CPU quota applies, then Go's choice; GOMAXPROCS, when set, wins"},
		{flag: "pprof-addr", env: "AGENTMCP_PPROF_ADDR", ptr: &o.pprofAddr, def: "", shown: "off", help: "serve Go's pprof profiles on this separate address (e.g. 127.0.0.1:6060); off when empty"},
		{flag: "metrics-addr", env: "AGENTMCP_METRICS_ADDR", ptr: &o.metricsAddr, def: "", shown: "the API port", help: "serve /metrics on this address instead of the API port"},
		{flag: "probe-on-write", env: "AGENTMCP_PROBE_ON_WRITE", ptr: &o.probeOnWrite, def: true, help: "probe a server in the background after a create or a URL change"},
		{flag: "probe-interval", env: "AGENTMCP_PROBE_INTERVAL", ptr: &o.probeInterval, def: time.Hour, help: "re-probe every server this often, with jitter; 0 = never"},
		{flag: "probe-workers", env: "AGENTMCP_PROBE_WORKERS", ptr: &o.probeWorkers, def: 4, help: "background probes at once"},
		{flag: "probe-workers-per-app", env: "AGENTMCP_PROBE_WORKERS_PER_APP", ptr: &o.probePerApp, def: 0, shown: "--probe-workers / 2",
			help: "probes one app may have running at once, POST …/probe and background together; 0 = --probe-workers / 2"},
		{flag: "probe-timeout", env: "AGENTMCP_PROBE_TIMEOUT", ptr: &o.probeTimeout, def: 10 * time.Second, help: "time limit of one probe"},
		{flag: "probe-allow-private", env: "AGENTMCP_PROBE_ALLOW_PRIVATE", ptr: &o.probePrivate, def: false,
			help: "let probes connect to loopback, private and other non-public addresses (local development only)"},
		{flag: "probe-max-bytes", env: "AGENTMCP_PROBE_MAX_BYTES", ptr: &o.probeMaxBytes, def: int64(probe.DefaultMaxBytes), shown: "4 MiB",
			help: "bytes one probe reads from a server, all responses together, and keeps of its tools"},
		{flag: "probe-max-tools", env: "AGENTMCP_PROBE_MAX_TOOLS", ptr: &o.probeMaxTools, def: probe.DefaultMaxTools, help: "tools one probe keeps"},
		{flag: "rate-limit", env: "AGENTMCP_RATE_LIMIT", ptr: &o.rateLimit, def: 50.0, help: "requests per second per app, per replica; 0 = no limit"},
		{flag: "rate-burst", env: "AGENTMCP_RATE_BURST", ptr: &o.rateBurst, def: 100, help: "requests an app may make at once"},
		{flag: "ip-rate-limit", env: "AGENTMCP_IP_RATE_LIMIT", ptr: &o.ipRateLimit, def: 0.0, shown: "10 × --rate-limit",
			help: "requests per second per client address before the key is checked (on the gateways: only those failing authentication); 0 = 10 × --rate-limit, burst 10 × --rate-burst"},
		{flag: "gateway-rate-limit", env: "AGENTMCP_GATEWAY_RATE_LIMIT", ptr: &o.gatewayRate, def: 0.0, shown: "5000",
			help: "gateway requests per second per API key (one agent runtime), per replica, a fifth of it at once; 0 = 5000; negative = no limit"},
		{flag: "gateway-app-rate-limit", env: "AGENTMCP_GATEWAY_APP_RATE_LIMIT", ptr: &o.gatewayAppRate, def: 0.0, shown: "20000",
			help: "gateway requests per second per app (all its keys), per replica; 0 = 20000; negative = no limit"},
		{flag: "trusted-proxies", env: "AGENTMCP_TRUSTED_PROXIES", ptr: &o.trustedProxies, def: "", shown: "none",
			help: "comma-separated CIDRs of the proxies whose X-Forwarded-For is believed; empty: the connection's address"},
		{flag: "max-servers-per-app", env: "AGENTMCP_MAX_SERVERS_PER_APP", ptr: &o.maxServers, def: 10000, help: "the most MCP servers an app may have; negative: no limit"},
		{flag: "idempotency-keys-per-app", env: "AGENTMCP_IDEMPOTENCY_KEYS_PER_APP", ptr: &o.idemKeysPerApp, def: 10000,
			help: "Idempotency-Keys an app may hold at once (a day's worth); negative: no limit"},
		{flag: "audit-retention", env: "AGENTMCP_AUDIT_RETENTION", ptr: &o.auditRetention, def: 90 * 24 * time.Hour, shown: "2160h (90 days)", help: "how long audit events are kept; 0 = forever"},
		{flag: "gateway-call-timeout", env: "AGENTMCP_GATEWAY_CALL_TIMEOUT", ptr: &o.gatewayTimeout, def: 30 * time.Second,
			help: "time limit of one tools/call an agent's gateway forwards to an MCP server"},
		{flag: "gateway-max-sessions", env: "AGENTMCP_GATEWAY_MAX_SESSIONS", ptr: &o.gatewaySessions, def: 10000, help: "gateway sessions this replica holds at once"},
		{flag: "gateway-session-idle", env: "AGENTMCP_GATEWAY_SESSION_IDLE", ptr: &o.gatewayIdle, def: 30 * time.Minute, help: "a gateway session idle this long is closed"},
		{flag: "gateway-sessions-per-key", env: "AGENTMCP_GATEWAY_SESSIONS_PER_KEY", ptr: &a.SessionsPerKey, def: admission.DefaultSessionsPerKey,
			help: "gateway sessions one API key may hold on this replica (new or rebuilt); past it initialize gets 429"},
		{flag: "gateway-sessions-per-agent", env: "AGENTMCP_GATEWAY_SESSIONS_PER_AGENT", ptr: &a.SessionsPerAgent, def: admission.DefaultSessionsPerAgent,
			help: "gateway sessions of one agent on this replica"},
		{flag: "gateway-sessions-per-app", env: "AGENTMCP_GATEWAY_SESSIONS_PER_APP", ptr: &a.SessionsPerApp, def: admission.DefaultSessionsPerApp,
			help: "gateway sessions of one app's agents on this replica"},
		{flag: "gateway-streams-per-key", env: "AGENTMCP_GATEWAY_STREAMS_PER_KEY", ptr: &a.StreamsPerKey, def: admission.DefaultStreamsPerKey,
			help: "standing GET event streams one API key may hold on the gateways; past it 429"},
		{flag: "gateway-streams-per-agent", env: "AGENTMCP_GATEWAY_STREAMS_PER_AGENT", ptr: &a.StreamsPerAgent, def: admission.DefaultStreamsPerAgent,
			help: "standing GET event streams on one agent's gateway"},
		{flag: "gateway-streams-per-app", env: "AGENTMCP_GATEWAY_STREAMS_PER_APP", ptr: &a.StreamsPerApp, def: admission.DefaultStreamsPerApp,
			help: "standing GET event streams on one app's gateways"},
		{flag: "gateway-calls-per-agent", env: "AGENTMCP_GATEWAY_CALLS_PER_AGENT", ptr: &a.CallsPerAgent, def: admission.DefaultCallsPerAgent,
			help: "concurrent POST/DELETE requests to one agent's gateway; past it 429"},
		{flag: "gateway-calls-per-app", env: "AGENTMCP_GATEWAY_CALLS_PER_APP", ptr: &a.CallsPerApp, def: admission.DefaultCallsPerApp,
			help: "concurrent POST/DELETE requests to one app's gateways"},
		{flag: "gateway-bytes-per-app", env: "AGENTMCP_GATEWAY_BYTES_PER_APP", ptr: &a.BytesPerApp, def: int64(admission.DefaultBytesPerApp), shown: "64 MiB",
			help: "bytes of MCP server results one app's running gateway calls may hold; past it the call fails"},
		{flag: "gateway-bytes-total", env: "AGENTMCP_GATEWAY_BYTES_TOTAL", ptr: &a.BytesTotal, def: int64(admission.DefaultBytesTotal), shown: "256 MiB",
			help: "bytes of MCP server results all running gateway calls may hold"},
		{flag: "gateway-stream-lifetime", env: "AGENTMCP_GATEWAY_STREAM_LIFETIME", ptr: &a.StreamLifetime, def: admission.DefaultStreamLifetime,
			help: "a gateway event stream ends after this long (its client reconnects)"},
		{flag: "fd-reserve", env: "AGENTMCP_FD_RESERVE", ptr: &a.FDReserve, def: admission.DefaultFDReserve,
			help: "file descriptors (of RLIMIT_NOFILE) kept for everything but new gateway event streams"},
	}...)
}
