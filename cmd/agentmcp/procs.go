package main

import (
	"io/fs"
	"os"
	"path"
	"strings"
)

// procs is the GOMAXPROCS serve runs with: GOMAXPROCS when set (as GOMEMLIMIT wins over
// --memory-limit), else the flag when set, else twice the CPUs when no CPU quota applies.
// agentmcp shares its cores with busy processes (its database, its clients): with one P per
// CPU, a P whose thread the kernel has preempted holds the requests queued on it while the
// other P is busy too, and GET's p99 was about 2× a bare echo server's; with two Ps per CPU,
// 0.7–1.0×, whatever GOMAXPROCS the echo server had (docs/performance.md). Under a quota
// (a container's limit) more Ps would only be throttled, so the runtime's choice stands. Set
// here, GOMAXPROCS no longer follows a quota changed later, as Go's default would.
// quota is asked only when the answer depends on it (it reads the cgroup files).
func procs(flag int, envSet bool, current, ncpu int, quota func() bool) int {
	switch {
	case envSet:
		return current
	case flag > 0:
		return flag
	case current < ncpu || quota():
		return current
	}
	return 2 * ncpu
}

// cpuQuota reports whether a CFS quota limits this process's cgroup or one above it
// (cgroup v2's cpu.max, or v1's cpu.cfs_quota_us). Unreadable files say no quota.
func cpuQuota() bool {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return false
	}
	return quotaIn(os.DirFS("/sys/fs/cgroup"), string(b))
}

// quotaIn is cpuQuota over a cgroup file system root and /proc/self/cgroup's text.
func quotaIn(root fs.FS, selfCgroup string) bool {
	for _, line := range strings.Split(selfCgroup, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir, file string
		switch {
		case parts[0] == "0" && parts[1] == "": // v2
			dir, file = ".", "cpu.max"
		case strings.Contains(","+parts[1]+",", ",cpu,"): // v1, mounted at cpu (or cpu,cpuacct, which cpu links to)
			dir, file = "cpu", "cpu.cfs_quota_us"
		default:
			continue
		}
		// From the process's cgroup up to the root: a parent's quota limits it too. Inside
		// a cgroup namespace the path is "/" and the mount is the container's own.
		for p := path.Clean("/" + parts[2]); ; p = path.Dir(p) {
			if limited(root, path.Join(dir, p), file) {
				return true
			}
			if p == "/" {
				break
			}
		}
	}
	return false
}

func limited(root fs.FS, dir, file string) bool {
	b, err := fs.ReadFile(root, strings.TrimPrefix(path.Join(dir, file), "/"))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return false
	}
	if file == "cpu.max" {
		return f[0] != "max" // "max 100000": none; "50000 100000": half a CPU
	}
	return f[0] != "-1"
}
