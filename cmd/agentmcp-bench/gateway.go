package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentmcp/agentmcp/client"
)

// gatewayScenarios are the MCP gateway's: tools/call through an agent's gateway, each as a
// ratio to calling the same upstream directly in the same interleaved rounds.
var gatewayScenarios = []string{"gateway-call", "gateway-call-c1", "gateway-call-slow", "gateway-call-slow-c1", "gateway-tools-list", "gateway-sessions"}

// gwResult is one gateway scenario (in the JSON next to the REST ones).
type gwResult struct {
	Scenario    string  `json:"scenario"`
	Concurrency int     `json:"concurrency"`
	UpstreamMS  float64 `json:"upstream_delay_ms"`
	Calls       int64   `json:"calls"`
	Errors      int64   `json:"errors"`
	RPS         float64 `json:"calls_per_second,omitempty"`
	P50ms       float64 `json:"p50_ms,omitempty"`
	P99ms       float64 `json:"p99_ms,omitempty"`
	DirectRPS   float64 `json:"direct_calls_per_second,omitempty"`
	DirectP50ms float64 `json:"direct_p50_ms,omitempty"`
	DirectP99ms float64 `json:"direct_p99_ms,omitempty"`
	Ratio       float64 `json:"ratio_to_direct,omitempty"`
	AddedP50ms  float64 `json:"added_p50_ms,omitempty"`
	P99Ratio    float64 `json:"p99_ratio_to_direct,omitempty"`
	// CPUPerCallUS is agentmcp's CPU time (user and system) per call through it: steadier
	// than rates on a shared machine.
	CPUPerCallUS float64 `json:"gateway_cpu_us_per_call,omitempty"`
	// gateway-sessions: sessions open, the server's RSS with them, and per session.
	Sessions     int     `json:"sessions,omitempty"`
	RSSMB        float64 `json:"rss_mb,omitempty"`
	KBPerSession float64 `json:"kb_per_session,omitempty"`
	PeakRSSMB    float64 `json:"peak_rss_mb,omitempty"`
}

// gwConfig is what the gateway scenarios take from the command line.
type gwConfig struct {
	rounds   int
	round    time.Duration
	sessions int
}

// runGateway runs the selected gateway scenarios against an agentmcp serve of its own with
// the default flags (but --probe-allow-private: its upstreams are on loopback), on a fresh
// SQLite database, with the upstreams and the client each in a process of their own.
func runGateway(ctx context.Context, c config, ps *procs, bin, tmp string, want func(string) bool) ([]gwResult, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	upstreams := map[string][]string{
		"fast":  {"--delay", "0"},
		"slow":  {"--delay", "1ms"},
		"lists": {"--servers", "5", "--tools", "200"},
	}
	urls := map[string]string{}
	for _, name := range []string{"fast", "slow", "lists"} {
		addr, err := freePort()
		if err != nil {
			return nil, err
		}
		up := exec.Command(self, append([]string{"upstream", "--addr", addr}, upstreams[name]...)...)
		up.Stderr = os.Stderr
		if err := ps.start(up); err != nil {
			return nil, err
		}
		if err := waitReady(ctx, "http://"+addr+"/healthz"); err != nil {
			return nil, err
		}
		urls[name] = "http://" + addr + "/mcp"
	}

	db := filepath.Join(tmp, "gateway.db")
	if out, err := exec.Command(bin, "migrate", "up", "--db", db).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("migrate up: %w\n%s", err, out)
	}
	out, err := exec.Command(bin, "apps", "create", "gateway-bench", "--db", db).Output()
	if err != nil {
		return nil, fmt.Errorf("apps create: %w", err)
	}
	key := strings.TrimSpace(string(out))
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--addr", addr, "--db", db, "--probe-allow-private"}
	if want("gateway-sessions") && c.gwSessions > 0 {
		// The per-key, per-agent and per-app session caps exist to refuse one key's 10,000
		// sessions; this scenario measures what such sessions cost, so it lifts them (and only
		// them: the call scenarios run on the default flags either way).
		n := strconv.Itoa(c.gwSessions + 100)
		args = append(args, "--gateway-max-sessions", n, "--gateway-sessions-per-key", n, "--gateway-sessions-per-agent", n, "--gateway-sessions-per-app", n)
	}
	var pprofAddr string
	if c.pprofDir != "" && slices.Contains(gatewayScenarios, c.pprofOf) {
		if pprofAddr, err = freePort(); err != nil {
			return nil, err
		}
		args = append(args, "--pprof-addr", pprofAddr)
	}
	logf, err := os.Create(filepath.Join(tmp, "gateway-server.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	srv := exec.Command(bin, append(args, strings.Fields(c.serveArgs)...)...)
	srv.Stdout, srv.Stderr = logf, logf // the access log and the call log are on, as served
	if err := ps.start(srv); err != nil {
		return nil, err
	}
	base := "http://" + addr
	if err := waitReady(ctx, base+"/readyz"); err != nil {
		log, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("gateway server: %w\n%s", err, lastLines(log, 20))
	}
	api, err := client.New(base+"/v3", key)
	if err != nil {
		return nil, err
	}
	agents := map[string][]string{"gw-fast": {"fast"}, "gw-slow": {"slow"}, "gw-lists": {"l0", "l1", "l2", "l3", "l4"}}
	servers := map[string]string{"fast": urls["fast"], "slow": urls["slow"]}
	for i := range 5 {
		servers["l"+strconv.Itoa(i)] = urls["lists"] + "/" + strconv.Itoa(i)
	}
	for slug, url := range servers {
		if _, err := api.CreateServer(ctx, client.CreateMCPServer{Name: slug, Slug: slug, Url: url}); err != nil {
			return nil, fmt.Errorf("creating server %s: %w", slug, err)
		}
	}
	for uid, slugs := range agents {
		if _, err := api.CreateAgent(ctx, client.CreateAgent{Uid: &uid, Name: uid, McpServers: &slugs}); err != nil {
			return nil, fmt.Errorf("creating agent %s: %w", uid, err)
		}
	}
	gw := func(uid string) string { return base + "/v3/ai-agents/agent-builder/agents/" + uid + "/mcp" }
	g := gwConfig{rounds: c.gwRounds, round: c.gwRound, sessions: c.gwSessions}

	type pair struct {
		name        string
		conc        int
		up          string
		delay       float64
		uid         string
		direct, via []loadOut
		cpu         time.Duration
	}
	var pairs []*pair
	for _, p := range []*pair{
		{name: "gateway-call-c1", conc: 1, up: "fast", uid: "gw-fast"},
		{name: "gateway-call", conc: 8, up: "fast", uid: "gw-fast"},
		{name: "gateway-call-slow-c1", conc: 1, up: "slow", delay: 1, uid: "gw-slow"},
		{name: "gateway-call-slow", conc: 8, up: "slow", delay: 1, uid: "gw-slow"},
	} {
		if want(p.name) {
			pairs = append(pairs, p)
		}
	}
	var prof *profiler
	for r := range g.rounds {
		for _, p := range pairs {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// Alternate which goes first, so neither always runs on a machine just warmed (or
			// loaded) by the other.
			order := []bool{r%2 == 0, r%2 != 0}
			for _, viaGateway := range order {
				progress("gateway round %d/%d: %s %s", r+1, g.rounds, p.name, map[bool]string{true: "through the gateway", false: "direct"}[viaGateway])
				url, tool, k := urls[p.up], "echo", ""
				if viaGateway {
					url, tool, k = gw(p.uid), p.up+"__echo", key
					if pprofAddr != "" && p.name == c.pprofOf && prof == nil {
						prof = startProfile(pprofAddr, g.round, c.pprofDir)
					}
				}
				o, err := mcpload(ctx, self, "--url", url, "--key", k, "--tool", tool, "--concurrency", strconv.Itoa(p.conc), "--duration", g.round.String(),
					"--cpu-pid", strconv.Itoa(srv.Process.Pid))
				if err != nil {
					return nil, fmt.Errorf("%s: %w", p.name, err)
				}
				if viaGateway {
					p.cpu += time.Duration(o.CPUUS) * time.Microsecond
					p.via = append(p.via, o)
				} else {
					p.direct = append(p.direct, o)
				}
				if prof != nil && viaGateway && p.name == c.pprofOf {
					if err := prof.finish(); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	var results []gwResult
	for _, p := range pairs {
		d, v := sumLoads(p.direct), sumLoads(p.via)
		r := gwResult{Scenario: p.name, Concurrency: p.conc, UpstreamMS: p.delay, Calls: v.Calls, Errors: v.Errors + d.Errors,
			RPS: v.rps(), P50ms: v.P50US / 1e3, P99ms: v.P99US / 1e3, DirectRPS: d.rps(), DirectP50ms: d.P50US / 1e3, DirectP99ms: d.P99US / 1e3}
		if r.DirectRPS > 0 {
			r.Ratio = r.RPS / r.DirectRPS
		}
		if r.DirectP99ms > 0 {
			r.P99Ratio = r.P99ms / r.DirectP99ms
		}
		r.AddedP50ms = r.P50ms - r.DirectP50ms
		if v.Calls > 0 {
			r.CPUPerCallUS = float64(p.cpu.Microseconds()) / float64(v.Calls)
		}
		r.PeakRSSMB = float64(peakRSS(srv.Process.Pid)) / (1 << 20)
		results = append(results, r)
	}

	if want("gateway-tools-list") {
		progress("gateway-tools-list: 1,000 tools of 5 servers")
		var runs []loadOut
		for i := range g.rounds {
			if pprofAddr != "" && c.pprofOf == "gateway-tools-list" && i == 0 {
				prof = startProfile(pprofAddr, g.round, c.pprofDir)
			}
			o, err := mcpload(ctx, self, "--url", gw("gw-lists"), "--key", key, "--method", "tools/list", "--concurrency", "1", "--duration", g.round.String(), "--warmup", "5",
				"--cpu-pid", strconv.Itoa(srv.Process.Pid))
			if err != nil {
				return nil, fmt.Errorf("gateway-tools-list: %w", err)
			}
			runs = append(runs, o)
			if prof != nil && i == 0 {
				if err := prof.finish(); err != nil {
					return nil, err
				}
			}
		}
		v := sumLoads(runs)
		r := gwResult{Scenario: "gateway-tools-list", Concurrency: 1, Calls: v.Calls, Errors: v.Errors, RPS: v.rps(),
			P50ms: v.P50US / 1e3, P99ms: v.P99US / 1e3, PeakRSSMB: float64(peakRSS(srv.Process.Pid)) / (1 << 20)}
		if v.Calls > 0 {
			r.CPUPerCallUS = float64(v.CPUUS) / float64(v.Calls)
		}
		results = append(results, r)
	}

	if want("gateway-sessions") && g.sessions > 0 {
		progress("gateway-sessions: opening %d idle sessions", g.sessions)
		before := currentRSS(srv.Process.Pid)
		o, err := mcpload(ctx, self, "--url", gw("gw-fast"), "--key", key, "--sessions", strconv.Itoa(g.sessions), "--concurrency", "8")
		if err != nil {
			return nil, fmt.Errorf("gateway-sessions: %w", err)
		}
		time.Sleep(time.Second) // let the collector settle before reading RSS
		after := currentRSS(srv.Process.Pid)
		if pprofAddr != "" && c.pprofOf == "gateway-sessions" {
			if err := fetch("http://"+pprofAddr+"/debug/pprof/heap?gc=1", filepath.Join(c.pprofDir, "heap.pprof")); err != nil {
				return nil, err
			}
			if err := fetch("http://"+pprofAddr+"/debug/pprof/heap?debug=1", filepath.Join(c.pprofDir, "heap.txt")); err != nil {
				return nil, err
			}
			if err := fetch("http://"+pprofAddr+"/debug/pprof/goroutine?debug=1", filepath.Join(c.pprofDir, "goroutine.txt")); err != nil {
				return nil, err
			}
		}
		r := gwResult{Scenario: "gateway-sessions", Concurrency: 8, Sessions: int(o.Calls), Errors: o.Errors,
			RSSMB: float64(after) / (1 << 20), PeakRSSMB: float64(peakRSS(srv.Process.Pid)) / (1 << 20)}
		if o.Calls > 0 {
			r.KBPerSession = float64(after-before) / 1024 / float64(o.Calls)
		}
		results = append(results, r)
	}
	progress("")
	return results, nil
}

// mcpload runs one client process and reads its summary.
func mcpload(ctx context.Context, self string, args ...string) (loadOut, error) {
	cmd := exec.CommandContext(ctx, self, append([]string{"mcpload"}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return loadOut{}, fmt.Errorf("mcpload: %w\n%s", err, out)
	}
	var o loadOut
	if err := json.Unmarshal(out, &o); err != nil {
		return loadOut{}, fmt.Errorf("reading mcpload's summary: %w\n%s", err, out)
	}
	if o.FirstErr != "" {
		return o, fmt.Errorf("%d errors, the first: %s", o.Errors, o.FirstErr)
	}
	return o, nil
}

// sumLoads adds up rounds: calls and time; p50 and p99 are the rounds' medians.
func sumLoads(rs []loadOut) loadOut {
	var s loadOut
	var p50, p99 []float64
	for _, r := range rs {
		s.Calls += r.Calls
		s.Errors += r.Errors
		s.ElapsedUS += r.ElapsedUS
		s.CPUUS += r.CPUUS
		p50, p99 = append(p50, r.P50US), append(p99, r.P99US)
	}
	s.P50US, s.P99US = median(p50), median(p99)
	return s
}

func (o loadOut) rps() float64 {
	if o.ElapsedUS == 0 {
		return 0
	}
	return float64(o.Calls) / (float64(o.ElapsedUS) / 1e6)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// cpuTime is the CPU time a process has used (user and system), from /proc/PID/stat.
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command (which may hold spaces) in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// currentRSS is a process's resident set now (VmRSS).
func currentRSS(pid int) int64 { return procStatus(pid, "VmRSS:") }

func gatewayMarkdown(rs []gwResult, g gwConfig) string {
	if len(rs) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nMCP gateway: agentmcp with default flags, upstreams (go-sdk) and client in processes of their own, %d interleaved rounds of %s per side\n\n", g.rounds, g.round)
	b.WriteString("| scenario | c | upstream | direct calls/s | gateway calls/s | ratio | direct p50 ms | gateway p50 ms | added p50 ms | p99 ratio | gateway CPU µs/call | errors | peak RSS MB |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		switch r.Scenario {
		case "gateway-tools-list", "gateway-sessions":
			continue
		}
		up := "at once"
		if r.UpstreamMS > 0 {
			up = fmt.Sprintf("%g ms", r.UpstreamMS)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %.0f | %.0f | %.2f | %.3f | %.3f | %+.3f | %.2f | %.0f | %d | %.1f |\n", r.Scenario, r.Concurrency, up,
			r.DirectRPS, r.RPS, r.Ratio, r.DirectP50ms, r.P50ms, r.AddedP50ms, r.P99Ratio, r.CPUPerCallUS, r.Errors, r.PeakRSSMB)
	}
	for _, r := range rs {
		switch r.Scenario {
		case "gateway-tools-list":
			fmt.Fprintf(&b, "\ngateway-tools-list: tools/list of 1,000 tools from 5 servers, warm: p50 %.2f ms, p99 %.2f ms, %.0f lists/s, gateway CPU %.0f µs per list, %d errors\n", r.P50ms, r.P99ms, r.RPS, r.CPUPerCallUS, r.Errors)
		case "gateway-sessions":
			fmt.Fprintf(&b, "gateway-sessions: %d initialized idle sessions: server RSS %.1f MB (%.1f KB per session), %d errors\n", r.Sessions, r.RSSMB, r.KBPerSession, r.Errors)
		}
	}
	return b.String()
}
