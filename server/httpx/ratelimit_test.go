package httpx

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// A flood of distinct, long keys keeps the table within its bound in entries and bytes,
// while a client that keeps coming is still limited.
func TestLimiterTableBounded(t *testing.T) {
	ls := NewLimiters(1, 5)
	ls.max = 5000 // MaxLimiterKeys, scaled down
	now := time.Unix(1000, 0)
	pad := strings.Repeat("x", 100)
	for i := range 4 * ls.max {
		ls.take(pad+strconv.Itoa(i), now)
		if i%100 == 0 {
			now = now.Add(time.Millisecond) // a flood: nothing is idle for long
		}
	}
	if n := len(ls.m); n > ls.max || n < ls.max/2 {
		t.Fatalf("%d buckets, bound %d", n, ls.max)
	}
	for k := range ls.m {
		if len(k) > maxLimiterKey {
			t.Fatalf("a %d-byte key is kept", len(k))
		}
	}
	for range 5 {
		ls.take("203.0.113.9", now)
	}
	if ok, _, _ := ls.take("203.0.113.9", now); ok {
		t.Fatal("a client past its burst was let through")
	}
}
