package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
)

func TestProcs(t *testing.T) {
	for _, c := range []struct {
		flag         int
		env          bool
		current, cpu int
		quota        bool
		want         int
	}{
		{0, false, 2, 2, false, 4}, // the machine's CPUs, no quota: twice them
		{0, false, 8, 8, false, 16},
		{0, true, 2, 2, false, 2},  // GOMAXPROCS set: it stands
		{3, true, 2, 2, false, 2},  // ... over the flag too, as GOMEMLIMIT does
		{0, false, 2, 2, true, 2},  // a quota (Go rounds a 1-CPU one on 2 CPUs up to 2): Go's choice
		{0, false, 2, 8, false, 2}, // fewer than the CPUs (an affinity or a quota Go saw): it stands
		{3, false, 2, 2, false, 3}, // the flag
		{1, false, 2, 8, true, 1},  // ... under a quota too
		{0, false, 1, 1, false, 2}, // one CPU
	} {
		asked := false
		quota := func() bool { asked = true; return c.quota }
		if got := procs(c.flag, c.env, c.current, c.cpu, quota); got != c.want {
			t.Errorf("procs(%d, %v, %d, %d, %v) = %d, want %d", c.flag, c.env, c.current, c.cpu, c.quota, got, c.want)
		}
		if asked && (c.env || c.flag > 0 || c.current < c.cpu) {
			t.Errorf("procs(%d, %v, %d, %d): read the quota, which could not change the answer", c.flag, c.env, c.current, c.cpu)
		}
	}
}

func TestQuotaIn(t *testing.T) {
	fsys := fstest.MapFS{
		"cpu.max":                          {Data: []byte("max 100000\n")},
		"system.slice/cpu.max":             {Data: []byte("max 100000\n")},
		"system.slice/agentmcp/cpu.max":    {Data: []byte("max 100000\n")},
		"kubepods/cpu.max":                 {Data: []byte("200000 100000\n")},
		"kubepods/pod1/ctr/cpu.max":        {Data: []byte("max 100000\n")},
		"cpu/docker/abc/cpu.cfs_quota_us":  {Data: []byte("50000\n")},
		"cpu/docker/free/cpu.cfs_quota_us": {Data: []byte("-1\n")},
		"cpu/cpu.cfs_quota_us":             {Data: []byte("-1\n")},
	}
	for self, want := range map[string]bool{
		"0::/system.slice/agentmcp\n": false, // v2, no quota up to the root
		"0::/kubepods/pod1/ctr\n":     true,  // v2, a parent's quota
		"0::/\n":                      false, // v2 in a namespace: the mount is the container's
		"12:cpu,cpuacct:/docker/abc\n1:name=systemd:/x\n": true,  // v1 quota
		"12:cpu,cpuacct:/docker/free\n":                   false, // v1, none
		"0::/missing/dir\n":                               false, // unreadable: none
		"":                                                false,
	} {
		if got := quotaIn(fsys, self); got != want {
			t.Errorf("quotaIn(%q) = %v, want %v", self, got, want)
		}
	}
}

// TestServeGOMAXPROCS: serve runs with what procs says and logs it; the flag sets it; a
// value out of range is refused before anything starts.
func TestServeGOMAXPROCS(t *testing.T) {
	logged := regexp.MustCompile(`"msg":"listening".*"gomaxprocs":(\d+)}`)
	p := startServe(t, filepath.Join(t.TempDir(), "a.db"))
	m := waitFor(t, p.stderr, logged)
	// The child's own default is the test's unless `go test -cpu` changed this process's.
	if _, env := os.LookupEnv("GOMAXPROCS"); !env && !cpuQuota() && runtime.GOMAXPROCS(0) == runtime.NumCPU() {
		if want := fmt.Sprint(2 * runtime.NumCPU()); m[1] != want {
			t.Fatalf("gomaxprocs %s, want %s (no GOMAXPROCS, no quota)", m[1], want)
		}
	}
	if _, env := os.LookupEnv("GOMAXPROCS"); !env {
		p = startServe(t, filepath.Join(t.TempDir(), "b.db"), "--gomaxprocs", "3")
		if m := waitFor(t, p.stderr, logged); m[1] != "3" {
			t.Fatalf("--gomaxprocs 3 not logged:\n%s", p.stderr)
		}
	}
	for _, v := range []string{"-1", "1025"} {
		_, errOut, code := runCmd(t, "serve", "--gomaxprocs", v, "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "c.db"))
		if code == 0 || !strings.Contains(errOut, "--gomaxprocs "+v+": want 0 (automatic) or 1 to 1024") {
			t.Errorf("--gomaxprocs %s: exit %d, stderr %q", v, code, errOut)
		}
	}
}
