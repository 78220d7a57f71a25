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
	"time"
)

// scenario is one wrk run: a target and a Lua script body that defines request().
type scenario struct {
	Name   string
	Target string
	Lua    string
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

func scenarios(target, baseline string) []scenario {
	return []scenario{
		{"baseline-get", baseline, `request = function() return wrk.format("GET", base .. "/mcp-servers/" .. slug(), hdr) end`},
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
		{"agent-add-remove", target, `request = function()
  count = count + 1
  local op = (count % 2 == 0) and "add" or "remove"
  return wrk.format("PATCH", base .. "/agents/bench-a" .. math.random(0, 7) .. "/mcp/" .. op, jhdr, '{"mcps":["' .. slug() .. '"]}')
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

// runWrk runs one scenario; key is the API key, oldest the cursor of a deep page.
func runWrk(ctx context.Context, c config, dir, key string, oldest int64, s scenario) (result, error) {
	script := fmt.Sprintf(luaCommon, key, c.servers, oldest, time.Now().UnixNano()%1000000) + s.Lua + "\n"
	path := filepath.Join(dir, s.Name+".lua")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		return result{}, err
	}
	cmd := exec.CommandContext(ctx, "wrk", "-t", fmt.Sprint(c.threads), "-c", fmt.Sprint(c.concurrency),
		"-d", fmt.Sprintf("%ds", max(1, int(c.duration.Seconds()))), "--timeout", "10s", "-s", path, s.Target)
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	var w wrkOut
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &w); err != nil {
		return result{}, fmt.Errorf("reading wrk's summary: %w\n%s", err, out)
	}
	secs := float64(w.DurationUS) / 1e6
	return result{
		Scenario: s.Name, Requests: w.Requests, RPS: float64(w.Requests) / secs,
		P50ms: float64(w.P50US) / 1000, P99ms: float64(w.P99US) / 1000, Errors: w.StatusErrors + w.SocketErrors,
	}, nil
}

type benchReport struct {
	When        string   `json:"when"`
	Machine     string   `json:"machine"`
	Servers     int      `json:"servers"`
	Concurrency int      `json:"concurrency"`
	DurationS   float64  `json:"duration_seconds"`
	DB          string   `json:"db"`
	PeakRSSMB   float64  `json:"server_peak_rss_mb"`
	Results     []result `json:"results"`
}

func report(c config, rs []result, rss int64) benchReport {
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
	db := "sqlite (temporary file)"
	if c.db != "" {
		db = "postgres"
	}
	return benchReport{
		When: time.Now().UTC().Format(time.RFC3339), Machine: fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU()),
		Servers: c.servers, Concurrency: c.concurrency, DurationS: c.duration.Seconds(), DB: db,
		PeakRSSMB: float64(rss) / (1 << 20), Results: rs,
	}
}

func (r benchReport) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d MCP servers, %s, %d connections, %.0fs per scenario, %s, %s\n\n", r.Servers, r.DB, r.Concurrency, r.DurationS, r.Machine, r.When)
	b.WriteString("| scenario | requests/s | p50 ms | p99 ms | errors | × baseline GET |\n|---|---:|---:|---:|---:|---:|\n")
	for _, x := range r.Results {
		fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.2f | %d | %.2f |\n", x.Scenario, x.RPS, x.P50ms, x.P99ms, x.Errors, x.RatioBaseGet)
	}
	fmt.Fprintf(&b, "\nserver peak RSS: %.1f MB\n", r.PeakRSSMB)
	return b.String()
}
