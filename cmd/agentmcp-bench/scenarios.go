package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// scenario is one wrk run per target, all at once, and a Lua script body that defines request().
type scenario struct {
	Name    string
	Targets []string
	Lua     string
}

const luaCommon = `
local key = %q
local n = %d
local oldest = %d
local hdr = {["apikey"] = key}
local jhdr = {["apikey"] = key, ["Content-Type"] = "application/json"}
local base = "/v3/ai-agents/agent-builder"
local count = 0
local run = %d
local depth = %d
local agents = %d
function setup(thread)
  thread:set("id", setup_n or 0)
  setup_n = (setup_n or 0) + 1
end
function init(args)
  id = id or 0 -- set per thread by setup()
  math.randomseed(run + id * 7919)
end
local function slug() return string.format("s%%06d", math.random(0, n - 1)) end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\n{"requests":%%d,"duration_us":%%d,"status_errors":%%d,"socket_errors":%%d,"p50_us":%%d,"p99_us":%%d,"mean_us":%%.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
`

// scenarios are the benchmark's; targets are the agentmcp replicas, the load split between them.
func scenarios(target []string, baseline string) []scenario {
	return []scenario{
		{"baseline-get", []string{baseline}, `request = function() return wrk.format("GET", base .. "/mcp-servers/" .. slug(), hdr) end`},
		{"get", target, `request = function() return wrk.format("GET", base .. "/mcp-servers/" .. slug(), hdr) end`},
		{"list-10", target, `request = function() return wrk.format("GET", base .. "/mcp-servers?limit=10", hdr) end`},
		{"list-30", target, `request = function() return wrk.format("GET", base .. "/mcp-servers?limit=30", hdr) end`},
		{"list-deep", target, `request = function() return wrk.format("GET", base .. "/mcp-servers?limit=10&affix=append&createdAt=" .. oldest, hdr) end`},
		{"create", target, `request = function()
  count = count + 1
  local s = string.format("c-%d-%d-%d", run, id, count)
  return wrk.format("POST", base .. "/mcp-servers", jhdr,
    '{"name":"Created ' .. s .. '","slug":"' .. s .. '","url":"https://' .. s .. '.example.com/mcp","description":"made by the benchmark"}')
end`},
		{"patch", target, `request = function()
  count = count + 1
  return wrk.format("PATCH", base .. "/mcp-servers/" .. slug(), jhdr, '{"description":"patched ' .. id .. '-' .. count .. '"}')
end`},
		// Attaches, and detaches of what this thread attached depth requests before (very likely
		// answered by then: depth is twice a thread's connections), so each agent's list stays short.
		{"agent-add-remove", target, `local pending, head, tail = {}, 1, 0
request = function()
  count = count + 1
  if tail - head + 1 >= depth and count % 2 == 0 then
    local p = pending[head]
    pending[head], head = nil, head + 1
    return wrk.format("PATCH", base .. "/agents/" .. p[1] .. "/mcp/remove", jhdr, '{"mcps":["' .. p[2] .. '"]}')
  end
  local a, s = "bench-a" .. math.random(0, agents - 1), slug()
  tail = tail + 1
  pending[tail] = {a, s}
  return wrk.format("PATCH", base .. "/agents/" .. a .. "/mcp/add", jhdr, '{"mcps":["' .. s .. '"]}')
end`},
		// Attaches of random slugs and detaches of other random slugs (which find them attached
		// a fraction of the time): the lists grow, to 1,000–2,000 slugs per agent in 10 s here.
		// An attach's reply and audit event carry the whole list, so this measures long lists.
		{"agent-growing", target, `request = function()
  count = count + 1
  local op = (count % 2 == 0) and "add" or "remove"
  return wrk.format("PATCH", base .. "/agents/bench-a" .. math.random(0, agents - 1) .. "/mcp/" .. op, jhdr, '{"mcps":["' .. slug() .. '"]}')
end`},
	}
}

type result struct {
	Scenario     string  `json:"scenario"`
	Requests     int64   `json:"requests"`
	RPS          float64 `json:"requests_per_second"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	Errors       int64   `json:"errors"`
	RatioBaseGet float64 `json:"ratio_to_baseline_get"`
	// After an agent scenario, the slugs attached to the benchmark's agents: in all, and the
	// longest list (an attach's cost grows with its agent's list).
	AgentSlugs   int `json:"agent_slugs,omitempty"`
	AgentLongest int `json:"agent_longest_list,omitempty"`
	// PeakRSSMB is the server's peak RSS once the scenario has run (the largest replica's;
	// after baseline-get, which the server sat out: its peak from the seeding), so that the
	// scenario that raised the peak is known.
	PeakRSSMB float64 `json:"peak_rss_mb,omitempty"`
}

type wrkOut struct {
	Requests     int64   `json:"requests"`
	DurationUS   int64   `json:"duration_us"`
	StatusErrors int64   `json:"status_errors"`
	SocketErrors int64   `json:"socket_errors"`
	P50US        int64   `json:"p50_us"`
	P99US        int64   `json:"p99_us"`
	MeanUS       float64 `json:"mean_us"`
}

// runWrk runs one scenario; key is the API key, oldest the cursor of a deep page. With
// several targets it runs one wrk per target at once, each with its share of the connections
// and threads, and combines them: rates and errors add up, latencies are the worse one's.
func runWrk(ctx context.Context, c config, dir, key string, oldest int64, s scenario) (result, error) {
	n := len(s.Targets)
	outs := make([]wrkOut, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	seed := time.Now().UnixNano() % 1000000
	for i, target := range s.Targets {
		wg.Go(func() {
			// run differs per wrk, so that their creates' slugs and random streams do too.
			threads, conns := wrkShare(c, n)
			script := fmt.Sprintf(luaCommon, key, c.servers, oldest, seed+int64(i), pendingDepth(threads, conns), benchAgents) + s.Lua + "\n"
			path := filepath.Join(dir, fmt.Sprintf("%s-%d.lua", s.Name, i))
			if errs[i] = os.WriteFile(path, []byte(script), 0o644); errs[i] == nil {
				outs[i], errs[i] = wrk(ctx, threads, conns, c.duration, path, target)
			}
		})
	}
	wg.Wait()
	r := result{Scenario: s.Name}
	for i, w := range outs {
		if errs[i] != nil {
			return result{}, errs[i]
		}
		r.Requests += w.Requests
		r.RPS += float64(w.Requests) / (float64(w.DurationUS) / 1e6)
		r.P50ms = max(r.P50ms, float64(w.P50US)/1000)
		r.P99ms = max(r.P99ms, float64(w.P99US)/1000)
		r.Errors += w.StatusErrors + w.SocketErrors
	}
	return r, nil
}

// wrkShare is the threads and connections of each of n wrk processes.
func wrkShare(c config, n int) (threads, conns int) {
	return max(1, c.threads/n), max(1, c.concurrency/n)
}

// pendingDepth is how many of a wrk thread's attaches agent-add-remove keeps before it
// detaches the oldest: twice the thread's connections, so that the attach has very likely been answered.
func pendingDepth(threads, conns int) int {
	return 2 * ((conns + threads - 1) / threads)
}

func wrk(ctx context.Context, threads, conns int, d time.Duration, script, target string) (wrkOut, error) {
	cmd := exec.CommandContext(ctx, "wrk", "-t", fmt.Sprint(threads), "-c", fmt.Sprint(conns),
		"-d", fmt.Sprintf("%ds", max(1, int(d.Seconds()))), "--timeout", "10s", "-s", script, target)
	out, err := cmd.Output()
	if err != nil {
		return wrkOut{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	var w wrkOut
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &w); err != nil {
		return wrkOut{}, fmt.Errorf("reading wrk's summary: %w\n%s", err, out)
	}
	return w, nil
}

type benchReport struct {
	When        string   `json:"when"`
	Machine     string   `json:"machine"`
	Servers     int      `json:"servers"`
	Concurrency int      `json:"concurrency"`
	DurationS   float64  `json:"duration_seconds"`
	DB          string   `json:"db"`         // sqlite or postgres
	Replicas    int      `json:"replicas"`   // agentmcp serve processes sharing the load (baseline-get: always 1)
	GOMAXPROCS  int      `json:"gomaxprocs"` // agentmcp's, and the baseline's with it (0: not logged, the baseline at Go's default)
	PeakRSSMB   float64  `json:"server_peak_rss_mb"`
	Results     []result `json:"results"`
	// Gateway holds the gateway scenarios (gateway-call, gateway-call-c1, …), each measured
	// against calling its upstream directly in the same run.
	Gateway []gwResult `json:"gateway,omitempty"`
}

func report(c config, db string, replicas, procs int, rs []result, rss int64) benchReport {
	var base float64
	for _, r := range rs {
		if r.Scenario == "baseline-get" {
			base = r.RPS
		}
	}
	for i := range rs {
		if base > 0 {
			rs[i].RatioBaseGet = rs[i].RPS / base
		}
	}
	return benchReport{
		When: time.Now().UTC().Format(time.RFC3339), Machine: fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU()),
		Servers: c.servers, Concurrency: c.concurrency, DurationS: c.duration.Seconds(), DB: db, Replicas: replicas,
		GOMAXPROCS: procs, PeakRSSMB: float64(rss) / (1 << 20), Results: rs,
	}
}

func (r benchReport) markdown() string {
	var b strings.Builder
	reps := "1 replica"
	if r.Replicas > 1 {
		reps = fmt.Sprintf("%d replicas (load split evenly; p50/p99: the worse replica's)", r.Replicas)
	}
	procs := "GOMAXPROCS: Go's default"
	if r.GOMAXPROCS > 0 {
		procs = fmt.Sprintf("GOMAXPROCS %d (the baseline's too)", r.GOMAXPROCS)
	}
	fmt.Fprintf(&b, "\n%d MCP servers, %s, %s, %d connections, %.0fs per scenario, %s, %s, %s\n\n", r.Servers, r.DB, reps, r.Concurrency, r.DurationS, r.Machine, procs, r.When)
	b.WriteString("| scenario | requests/s | p50 ms | p99 ms | errors | × baseline GET | peak RSS MB |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range r.Results {
		fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.2f | %d | %.2f | %.1f |\n", x.Scenario, x.RPS, x.P50ms, x.P99ms, x.Errors, x.RatioBaseGet, x.PeakRSSMB)
	}
	fmt.Fprintf(&b, "\nserver peak RSS: %.1f MB (the largest replica's)\n", r.PeakRSSMB)
	for _, x := range r.Results {
		if x.AgentSlugs > 0 {
			fmt.Fprintf(&b, "after %s: %d slugs attached to the %d agents, the longest list %d\n", x.Scenario, x.AgentSlugs, benchAgents, x.AgentLongest)
		}
	}
	return b.String()
}
