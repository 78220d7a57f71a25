package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// gcFloor keeps the GC's heap goal at floor bytes or more: after each collection it sets
// GOGC so that the next goal is the larger of twice the live heap (GOGC's default) and
// floor. The gateway's MCP path (the go-sdk) allocates ~250 KB of short-lived decoder
// buffers per call on a live heap of ~10 MB; at GOGC 100 it collected every few dozen calls
// and spent a third of its CPU in the collector. The memory limit still bounds the heap;
// a live heap above floor/2 sees GOGC 100 as before (docs/performance.md, "GC floor").
// GOGC set in the environment wins: then nothing is tuned.
func gcFloor(floor uint64) {
	if floor == 0 {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	last := -1
	var arm func()
	tune := func() {
		metrics.Read(sample)
		pct := 100
		if sample[0].Value.Kind() == metrics.KindUint64 {
			if live := sample[0].Value.Uint64(); live > 0 && 2*live < floor {
				pct = int(min(floor*100/live-100, 10000))
			}
		}
		if pct != last {
			debug.SetGCPercent(pct)
			last = pct
		}
		arm()
	}
	// A finalizer runs after the collection that found its object unreachable: one per cycle.
	arm = func() {
		sentinel := new([16]byte)
		runtime.SetFinalizer(sentinel, func(*[16]byte) { tune() })
	}
	tune()
}
