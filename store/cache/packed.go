package cache

import (
	"encoding/binary"
	"unsafe"

	"github.com/agentmcp/agentmcp/store"
)

// A cached server is one immutable string holding all its fields, and the servers its
// strings are views into it: one allocation per entry instead of eight, about half the
// bytes of a store.MCPServer with its own strings, and nothing to allocate on a hit.
//
// Layout: createdAt, updatedAt and the read's time (little-endian int64s), then the
// lengths (uvarints) of slug, name, description, url, icon, auth type, auth headers and
// health status, then the key (the uvarint length of the app ID, the app ID, the slug),
// then the other strings in that order.
type entry struct {
	b string
	h *store.Health // nil until probed; its Status is a view into b
}

const (
	fixed  = 24 // the three int64s
	nLens  = 8
	keyBuf = 96 // room on the stack for most keys
)

// appendKey appends the cache key of a server: unambiguous for any app ID and slug.
func appendKey(b []byte, app, slug string) []byte {
	b = binary.AppendUvarint(b, uint64(len(app)))
	b = append(b, app...)
	return append(b, slug...)
}

func pack(m store.MCPServer, at int64) entry {
	var status string
	if m.Health != nil {
		status = m.Health.Status
	}
	strs := [nLens]string{m.Slug, m.Name, m.Description, m.URL, m.Icon, m.Auth.Type, m.Auth.Headers, status}
	n := fixed + uvarintLen(len(m.AppID)) + len(m.AppID)
	for _, s := range strs {
		n += uvarintLen(len(s)) + len(s)
	}
	b := make([]byte, 0, n)
	b = binary.LittleEndian.AppendUint64(b, uint64(m.CreatedAt))
	b = binary.LittleEndian.AppendUint64(b, uint64(m.UpdatedAt))
	b = binary.LittleEndian.AppendUint64(b, uint64(at))
	for _, s := range strs {
		b = binary.AppendUvarint(b, uint64(len(s)))
	}
	b = appendKey(b, m.AppID, m.Slug)
	for _, s := range strs[1:] {
		b = append(b, s...)
	}
	e := entry{b: unsafe.String(unsafe.SliceData(b), len(b))} // b is never written again

	if m.Health != nil {
		e.h = &store.Health{Status: e.b[len(e.b)-len(status):], CheckedAt: m.Health.CheckedAt, ToolCount: m.Health.ToolCount}
	}
	return e
}

func uvarintLen(n int) int {
	l := 1
	for ; n >= 0x80; n >>= 7 {
		l++
	}
	return l
}

func (e entry) int64At(off int) int64 {
	s := e.b[off : off+8]
	return int64(uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56)
}

// uvarint reads the uvarint at off and returns it and the offset after it.
func (e entry) uvarint(off int) (int, int) {
	var v, shift int
	for {
		c := e.b[off]
		off++
		v |= int(c&0x7f) << shift
		if c < 0x80 {
			return v, off
		}
		shift += 7
	}
}

// at is when the read that fetched it began.
func (e entry) at() int64 { return e.int64At(16) }

// lens reads the lengths; off is where the key starts, app the app ID's length and its
// offset.
func (e entry) lens() (l [nLens]int, app, appOff int) {
	off := fixed
	for i := range l {
		l[i], off = e.uvarint(off)
	}
	app, appOff = e.uvarint(off)
	return l, app, appOff
}

// key is the entry's map key, as appendKey makes it.
func (e entry) key() string {
	off := fixed
	var slug int
	for i := range nLens {
		var n int
		n, off = e.uvarint(off)
		if i == 0 {
			slug = n
		}
	}
	app, appOff := e.uvarint(off)
	return e.b[off : appOff+app+slug]
}

// server unpacks the entry; its strings are views into e.b.
func (e entry) server() store.MCPServer {
	l, app, p := e.lens()
	next := func(n int) string {
		s := e.b[p : p+n]
		p += n
		return s
	}
	m := store.MCPServer{CreatedAt: e.int64At(0), UpdatedAt: e.int64At(8), Health: e.h}
	m.AppID = next(app)
	m.Slug = next(l[0])
	m.Name = next(l[1])
	m.Description = next(l[2])
	m.URL = next(l[3])
	m.Icon = next(l[4])
	m.Auth.Type = next(l[5])
	m.Auth.Headers = next(l[6])
	return m
}
