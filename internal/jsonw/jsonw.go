// Package jsonw appends JSON by hand for the records whose lists can be long (an agent's
// attached slugs: thousands under churn), where encoding/json's reflection was a tenth of
// an attach's cost (and of a page of servers, whose encoder this is too). Every function
// writes the bytes json.Marshal writes: HTML characters, U+2028/U+2029 and invalid UTF-8
// escaped, nil slices as null; maps go through encoding/json. The packages that use them
// test their records against encoding/json.
package jsonw

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// String appends s quoted, as encoding/json does by default (HTML characters, U+2028,
// U+2029 and invalid UTF-8 escaped).
func String(b []byte, s string) []byte {
	b = append(b, '"')
	b = Escaped(b, s)
	return append(b, '"')
}

// Escaped appends the inside of s's JSON string.
func Escaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// Strings appends l (nil: null).
func Strings(b []byte, l []string) []byte {
	if l == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = String(b, s)
	}
	return append(b, ']')
}

// Value appends v through encoding/json; it panics on an error, which only a value
// encoding/json cannot encode (never one decoded from JSON) can cause.
func Value(b []byte, v any) []byte {
	q, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return append(b, q...)
}

// Int appends n; IntPtr appends *n or null.
func Int(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

func IntPtr(b []byte, n *int64) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return Int(b, *n)
}

// Bool appends v.
func Bool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

// Obj writes an object field by field: Obj{B: b}.Str("uid", …)… then End.
type Obj struct {
	B    []byte
	more bool
}

func (o *Obj) key(k string) {
	if o.more {
		o.B = append(o.B, ',')
	} else {
		o.B = append(o.B, '{')
		o.more = true
	}
	o.B = String(o.B, k)
	o.B = append(o.B, ':')
}

// Key starts field k: the caller appends its value to B.
func (o *Obj) Key(k string) *Obj { o.key(k); return o }

func (o *Obj) Str(k, v string) *Obj           { o.key(k); o.B = String(o.B, v); return o }
func (o *Obj) Strs(k string, v []string) *Obj { o.key(k); o.B = Strings(o.B, v); return o }
func (o *Obj) Int(k string, v int64) *Obj     { o.key(k); o.B = Int(o.B, v); return o }
func (o *Obj) IntPtr(k string, v *int64) *Obj { o.key(k); o.B = IntPtr(o.B, v); return o }
func (o *Obj) Bool(k string, v bool) *Obj     { o.key(k); o.B = Bool(o.B, v); return o }
func (o *Obj) Value(k string, v any) *Obj     { o.key(k); o.B = Value(o.B, v); return o }

// End closes the object ({} when it has no field) and returns the bytes.
func (o *Obj) End() []byte {
	if !o.more {
		o.B = append(o.B, '{')
	}
	return append(o.B, '}')
}

// Size is a capacity guess for a record holding lists: 256 bytes and each string's length
// plus its quotes and comma.
func Size(lists ...[]string) int {
	n := 256
	for _, l := range lists {
		for _, s := range l {
			n += len(s) + 3
		}
	}
	return n
}
