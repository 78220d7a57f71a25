package cache

import (
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/agentmcp/agentmcp/internal/testkit/race"
	"github.com/agentmcp/agentmcp/store"
)

// TestPackRoundTrip fills every field of a store.MCPServer by reflection, so a field that
// pack drops, a new one included, fails here.
func TestPackRoundTrip(t *testing.T) {
	filled := func(minLen int) store.MCPServer {
		var m store.MCPServer
		n := 0
		fill(t, reflect.ValueOf(&m).Elem(), &n, minLen)
		return m
	}
	unprobed := filled(0)
	unprobed.Health = nil
	for _, m := range []store.MCPServer{
		{},
		{AppID: "a", Slug: "b", Health: &store.Health{}},
		{AppID: "a", Slug: "b", Description: "\x00", CreatedAt: -1},
		filled(0),
		filled(200), // lengths past one uvarint byte
		unprobed,
	} {
		e := pack(m, 42)
		if got := e.server(); !reflect.DeepEqual(got, m) || e.at() != 42 {
			t.Errorf("pack/unpack: %s (at %d), want %s", show(got), e.at(), show(m))
		}
		if k := appendKey(nil, m.AppID, m.Slug); e.key() != string(k) {
			t.Errorf("key %q, want %q", e.key(), k)
		}
	}
}

// fill sets every field under v to a value no other field has (strings of at least minLen
// bytes, numbers past 32 bits when minLen > 0); a kind it does not know fails the test.
func fill(t *testing.T, v reflect.Value, n *int, minLen int) {
	t.Helper()
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(strings.Repeat("é", minLen/2) + "s" + strconv.Itoa(*n))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x := int64(*n)
		if minLen > 0 && !v.OverflowInt(x<<40) {
			x = -x << 40
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), n, minLen)
	case reflect.Struct:
		for i := range v.NumField() {
			if !v.Field(i).CanSet() {
				t.Fatalf("fill: %s.%s is unexported", v.Type(), v.Type().Field(i).Name)
			}
			fill(t, v.Field(i), n, minLen)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(t, v.Index(i), n, minLen)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k, n, minLen)
		fill(t, e, n, minLen)
		v.SetMapIndex(k, e)
	default:
		t.Fatalf("fill: a %s field; teach fill its kind", v.Type())
	}
}

func show(m store.MCPServer) string {
	if m.Health == nil {
		return fmt.Sprintf("%+v", m)
	}
	h := *m.Health
	m.Health = nil
	return fmt.Sprintf("%+v health %+v", m, h)
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
		get := func() { got, _ = s.GetMCPServer(t.Context(), "app", "slug") }
		get()
		if !race.Enabled { // the race detector allocates
			if n := testing.AllocsPerRun(100, get); n != 0 {
				t.Errorf("a hit allocates %v times", n)
			}
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
