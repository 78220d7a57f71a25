package rest

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agentmcp/agentmcp/server/httpx"
)

// Text fields may hold tabs and line breaks; so may the values of the free objects (JSON the
// caller keeps for its model). Every other string, and every key, may hold no control
// character at all.
var (
	textFields  = map[string]bool{"description": true, "instruction": true}
	freeObjects = map[string]bool{"metaData": true, "modelMetaData": true}
)

// CheckStrings walks a validated JSON body and names every string with a control character
// (C0 or DEL, but tab, LF and CR in text) — which PostgreSQL refuses (\u0000) and no field
// needs — so that both stores only ever see the same clean strings.
func CheckStrings(body any) []httpx.Detail {
	var out []httpx.Detail
	var walk func(v any, path []string, text bool)
	walk = func(v any, path []string, text bool) {
		switch x := v.(type) {
		case string:
			if msg := badString(x, text); msg != "" {
				out = append(out, httpx.Detail{Field: orBody(strings.Join(path, ".")), Message: msg})
			}
		case []any:
			for i, e := range x {
				walk(e, append(path, strconv.Itoa(i)), text)
			}
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				if badString(k, false) != "" {
					out = append(out, httpx.Detail{Field: orBody(strings.Join(path, ".")), Message: "a key has a control character"})
					continue
				}
				t := text
				if len(path) == 0 {
					t = textFields[k] || freeObjects[k]
				}
				if len(path) == 1 && path[0] == "auth" && k == "privateKeyPem" {
					t = true // PEM is lines
				}
				walk(x[k], append(path, k), t)
			}
		}
	}
	walk(body, nil, false)
	return firstPerField(out)
}

// badString says what is wrong with s, or "".
func badString(s string, text bool) string {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 0x20 && b != 0x7f {
			continue
		}
		if text && (b == '\t' || b == '\n' || b == '\r') {
			continue
		}
		if text {
			return "must not contain control characters other than tab and line breaks"
		}
		return "must not contain control characters"
	}
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	return ""
}
