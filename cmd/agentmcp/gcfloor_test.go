package main

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestGCFloorRaisesGOGCOnASmallHeap: with a floor far above the test's live heap, the
// collections after gcFloor starts set GOGC above the default so that the goal reaches it.
func TestGCFloorRaisesGOGCOnASmallHeap(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	gcFloor(1 << 40) // 1 TiB: far above any live heap here; capped at GOGC 10000
	deadline := time.Now().Add(30 * time.Second)
	for {
		runtime.GC() // the finalizer of the cycle's sentinel tunes GOGC, in its own goroutine
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		if p == 10000 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GOGC is %d after collections, want 10000", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
