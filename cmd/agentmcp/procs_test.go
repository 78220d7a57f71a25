package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestProcs(t *testing.T) {
	for _, c := range []struct {
		flag         int
		env          bool
		current, cpu int
		want         int
	}{
		{0, false, 2, 2, 4}, // the machine's CPUs, no limit: twice them
		{0, false, 8, 8, 16},
		{0, true, 2, 2, 2},  // GOMAXPROCS set: it stands
		{0, false, 2, 8, 2}, // a CPU limit below the CPUs: it stands
		{3, true, 2, 2, 3},  // the flag wins
		{1, false, 2, 8, 1},
		{0, false, 1, 1, 2},  // one CPU
		{0, true, 16, 2, 16}, // GOMAXPROCS above the CPUs: it stands
	} {
		if got := procs(c.flag, c.env, c.current, c.cpu); got != c.want {
			t.Errorf("procs(%d, %v, %d, %d) = %d, want %d", c.flag, c.env, c.current, c.cpu, got, c.want)
		}
	}
}

// TestServeGOMAXPROCS: serve runs with what procs says and logs it; the flag sets it; a
// value out of range is refused before anything starts.
func TestServeGOMAXPROCS(t *testing.T) {
	_, env := os.LookupEnv("GOMAXPROCS")
	want := procs(0, env, runtime.GOMAXPROCS(0), runtime.NumCPU())
	p := startServe(t, filepath.Join(t.TempDir(), "a.db"))
	if log := p.stderr.String(); !strings.Contains(log, fmt.Sprintf(`"gomaxprocs":%d}`, want)) {
		t.Fatalf("want gomaxprocs %d logged:\n%s", want, log)
	}
	p = startServe(t, filepath.Join(t.TempDir(), "b.db"), "--gomaxprocs", "3")
	if log := p.stderr.String(); !strings.Contains(log, `"gomaxprocs":3}`) {
		t.Fatalf("--gomaxprocs 3 not logged:\n%s", log)
	}
	for _, v := range []string{"-1", "1025"} {
		_, errOut, code := runCmd(t, "serve", "--gomaxprocs", v, "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "c.db"))
		if code == 0 || !strings.Contains(errOut, "--gomaxprocs "+v+": want 0 (automatic) or 1 to 1024") {
			t.Errorf("--gomaxprocs %s: exit %d, stderr %q", v, code, errOut)
		}
	}
}
