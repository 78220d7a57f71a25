package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestMain lets the test binary act as the baseline server the benchmark starts (it runs
// os.Executable() with "baseline").
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "baseline" {
		if err := runBaseline(os.Args[2:]); err != nil {
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// TestSmoke runs the whole benchmark for a moment, so that it cannot rot: every scenario
// runs with no errors and the report is complete.
func TestSmoke(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("wrk is missing in CI (.ci/run installs it)")
		}
		t.Skip("SKIPPED: wrk is not installed (apt-get install wrk)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "agentmcp")
	if out, err := exec.Command("go", "build", "-o", bin, "../agentmcp").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "bench.json")
	c := config{servers: 40, duration: time.Second, concurrency: 4, threads: 1, bin: bin, out: out, pprofDir: filepath.Join(dir, "prof")}
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
	if len(rep.Results) != len(scenarios("", "")) || rep.PeakRSSMB <= 0 {
		t.Fatalf("incomplete report: %s", b)
	}
	for _, r := range rep.Results {
		if r.Requests == 0 || r.Errors != 0 || r.RatioBaseGet <= 0 {
			t.Fatalf("scenario %s: %+v", r.Scenario, r)
		}
	}
	for _, f := range []string{"cpu.pprof", "heap.pprof"} {
		if st, err := os.Stat(filepath.Join(dir, "prof", f)); err != nil || st.Size() == 0 {
			t.Fatalf("profile %s missing", f)
		}
	}
}
