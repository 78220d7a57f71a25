package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/internal/pgtest/pgcluster"
)

// TestMain lets the test binary act as the processes the benchmark starts of itself (it
// runs os.Executable() with "baseline", "upstream" or "mcpload").
func TestMain(m *testing.M) {
	if sub := subcommand(os.Args[1:]); sub != nil {
		if err := sub(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, os.Args[1]+":", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// TestSmoke runs the whole benchmark for a moment, so that it cannot rot: every scenario
// runs with no errors and the report is complete.
func TestSmoke(t *testing.T) {
	needWrk(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "bench.json")
	c := config{servers: 40, duration: time.Second, concurrency: 4, threads: 1, bin: buildAgentmcp(t, dir), out: out, pprofDir: filepath.Join(dir, "prof")}
	rep := runSmoke(t, c)
	if rep.DB != "sqlite" || rep.Replicas != 1 {
		t.Fatalf("report says %s with %d replicas, want sqlite with 1", rep.DB, rep.Replicas)
	}
	if rep.GOMAXPROCS < 1 { // read from serve's start-up line, and given to the baseline
		t.Fatalf("report has no GOMAXPROCS: %d", rep.GOMAXPROCS)
	}
	for _, f := range []string{"cpu.pprof", "heap.pprof"} {
		if st, err := os.Stat(filepath.Join(dir, "prof", f)); err != nil || st.Size() == 0 {
			t.Fatalf("profile %s missing", f)
		}
	}
}

// TestSmokePostgres runs `--db postgres`: a cluster of its own, two replicas on it, the load
// split between them; and the cluster is gone afterwards.
func TestSmokePostgres(t *testing.T) {
	needWrk(t)
	if _, err := pgcluster.FindBin(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v: in CI the PostgreSQL tests must run", err)
		}
		t.Skipf("SKIPPED: %v", err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "bench.json")
	var cl *pgcluster.Cluster
	c := config{servers: 40, duration: time.Second, concurrency: 4, threads: 2, bin: buildAgentmcp(t, dir), out: out,
		db: "postgres", onCluster: func(c *pgcluster.Cluster) { cl = c }}
	rep := runSmoke(t, c)
	if rep.DB != "postgres" || rep.Replicas != 2 {
		t.Fatalf("report says %s with %d replicas, want postgres with 2", rep.DB, rep.Replicas)
	}
	if cl == nil {
		t.Fatal("no cluster was started")
	}
	if _, err := os.Stat(cl.Dir); !os.IsNotExist(err) {
		t.Errorf("the cluster's directory %s is still there (%v)", cl.Dir, err)
	}
	if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", cl.Port), time.Second); err == nil {
		conn.Close()
		t.Errorf("the cluster still listens on port %d", cl.Port)
	}
}

func needWrk(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("wrk is missing in CI (.ci/run installs it)")
		}
		t.Skip("SKIPPED: wrk is not installed (apt-get install wrk)")
	}
}

func buildAgentmcp(t *testing.T, dir string) string {
	bin := filepath.Join(dir, "agentmcp")
	if out, err := exec.Command("go", "build", "-o", bin, "../agentmcp").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// runSmoke runs the benchmark and checks that every scenario had requests and no errors.
func runSmoke(t *testing.T, c config) benchReport {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := run(ctx, c); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(c.out)
	if err != nil {
		t.Fatal(err)
	}
	var rep benchReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != len(scenarios(nil, "")) || rep.PeakRSSMB <= 0 {
		t.Fatalf("incomplete report: %s", b)
	}
	// agent-add-remove detaches what it attached: what is left is at most each wrk thread's
	// pending attaches (with room for a detach that overtook its attach). Its lists growing as
	// agent-growing's do would be hundreds of slugs, even in a second.
	threads, conns := wrkShare(c, rep.Replicas)
	bound := 2 * (pendingDepth(threads, conns) + 1) * threads * rep.Replicas
	var peak float64
	for _, r := range rep.Results {
		if r.PeakRSSMB < peak || r.PeakRSSMB > rep.PeakRSSMB || r.PeakRSSMB <= 0 {
			t.Fatalf("%s: peak RSS %.1f MB after %.1f before it, %.1f in all", r.Scenario, r.PeakRSSMB, peak, rep.PeakRSSMB)
		}
		peak = r.PeakRSSMB
		if r.Requests == 0 || r.Errors != 0 || r.RatioBaseGet <= 0 {
			t.Fatalf("scenario %s: %+v", r.Scenario, r)
		}
		if r.Scenario == "agent-add-remove" && (r.AgentSlugs == 0 || r.AgentSlugs > bound) {
			t.Fatalf("agent-add-remove left %d slugs attached, want 1 to %d", r.AgentSlugs, bound)
		}
	}
	return rep
}

// TestSmokeGateway runs the gateway scenarios for a moment (agentmcp with its default
// flags, the upstreams and the client in processes of their own): every scenario is in
// the JSON with the fields the targets read, and no call failed. No timing is asserted.
func TestSmokeGateway(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "bench.json")
	c := config{bin: buildAgentmcp(t, dir), out: out, scenarios: strings.Join(gatewayScenarios, ","),
		gwRounds: 1, gwRound: 200 * time.Millisecond, gwSessions: 20}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := run(ctx, c); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep benchReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]gwResult{}
	for _, r := range rep.Gateway {
		got[r.Scenario] = r
	}
	for _, name := range gatewayScenarios {
		r, ok := got[name]
		if !ok || r.Errors != 0 {
			t.Fatalf("scenario %s: %+v in %s", name, r, b)
		}
		switch name {
		case "gateway-sessions":
			if r.Sessions != c.gwSessions || r.RSSMB <= 0 {
				t.Fatalf("%s: %+v", name, r)
			}
		case "gateway-tools-list":
			if r.Calls == 0 || r.P50ms <= 0 {
				t.Fatalf("%s: %+v", name, r)
			}
		default:
			if r.Calls == 0 || r.Ratio <= 0 || r.DirectP50ms <= 0 || r.P50ms <= 0 {
				t.Fatalf("%s: %+v", name, r)
			}
		}
	}
}
