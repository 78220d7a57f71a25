package cache

import (
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/agentmcp/agentmcp/store"
)

func TestPackRoundTrip(t *testing.T) {
	long := strings.Repeat("é", 200) // lengths past one uvarint byte
	for _, m := range []store.MCPServer{
		{},
		{AppID: "app", Slug: "s", Name: "n", Description: "d", URL: "https://x", Icon: "i", CreatedAt: 1, UpdatedAt: -2},
		{AppID: long, Slug: long + "s", Name: long, Description: "\x00" + long, URL: long, Icon: long, CreatedAt: 1 << 62, UpdatedAt: 7,
			Auth: store.AuthInfo{Type: "bearer", Headers: "Authorization,X-Key"}, Health: &store.Health{Status: store.HealthFailing, CheckedAt: 9, ToolCount: 3}},
		{AppID: "a", Slug: "b", Health: &store.Health{}},
	} {
		e := pack(m, 42)
		got := e.server()
		if got.Health != nil && m.Health != nil {
			if *got.Health != *m.Health {
				t.Errorf("health %+v, want %+v", *got.Health, *m.Health)
			}
			got.Health, m.Health = nil, nil
		}
		if got != m || e.at() != 42 {
			t.Errorf("pack/unpack: %+v (at %d), want %+v", got, e.at(), m)
		}
		if k := appendKey(nil, m.AppID, m.Slug); e.key() != string(k) {
			t.Errorf("key %q, want %q", e.key(), k)
		}
	}
}

// The key says where the app ID ends: app "a" with slug "bc" is not app "ab" with slug "c".
func TestKeysAreUnambiguous(t *testing.T) {
	if string(appendKey(nil, "a", "bc")) == string(appendKey(nil, "ab", "c")) {
		t.Fatal("two servers share a key")
	}
}

// A hit allocates nothing, probed or not.
func TestHitAllocatesNothing(t *testing.T) {
	for _, h := range []*store.Health{nil, {Status: store.HealthOK, CheckedAt: 1}} {
		s := New(nil, 100)
		m := store.MCPServer{AppID: "app", Slug: "slug", Name: "n", URL: "https://x", Health: h}
		var buf [keyBuf]byte
		k := appendKey(buf[:0], m.AppID, m.Slug)
		s.shardOf(k).put(pack(m, 0), s.shardOf(k).gen.Load(), s.perShard, true)
		var got store.MCPServer
		if n := testing.AllocsPerRun(100, func() { got, _ = s.GetMCPServer(t.Context(), "app", "slug") }); n != 0 {
			t.Errorf("a hit allocates %v times", n)
		}
		if got.Name != "n" {
			t.Fatalf("not a hit: %+v", got)
		}
	}
}

// BenchmarkEntryBytes reports the heap a cached server of the benchmark's shape takes.
func BenchmarkEntryBytes(b *testing.B) {
	for range b.N {
		s := New(nil, 100000)
		var before, after runtimeMem
		before.read()
		for i := range 100000 {
			slug := "s" + strings.Repeat("0", 6-len(strconv.Itoa(i))) + strconv.Itoa(i)
			m := store.MCPServer{AppID: "bench", Slug: slug, Name: "Server " + strconv.Itoa(i), Description: "Benchmark server number " + strconv.Itoa(i),
				URL: "https://" + slug + ".mcp.example.com/mcp", Icon: "https://example.com/icon.png", CreatedAt: int64(i), UpdatedAt: int64(i)}
			var buf [keyBuf]byte
			k := appendKey(buf[:0], m.AppID, m.Slug)
			sh := s.shardOf(k)
			sh.put(pack(m, 0), sh.gen.Load(), 1<<30, true)
		}
		after.read()
		b.ReportMetric(float64(after.heap-before.heap)/100000, "B/entry")
		keep = s
	}
}

var keep *Store

type runtimeMem struct{ heap uint64 }

func (m *runtimeMem) read() {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.heap = s.HeapAlloc
}
