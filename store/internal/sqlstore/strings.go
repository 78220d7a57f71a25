package sqlstore

import "encoding/json"

// decodeStrings decodes a stored JSON array of strings into dst, as json.Unmarshal does.
// Agents' lists are read on every agent read and write (an attached list can be thousands of
// slugs), so the common case — strings of printable ASCII without escapes, as agentmcp
// writes slugs — is split by hand; anything else goes to encoding/json.
func decodeStrings(src string, dst *[]string) error {
	if out, ok := plainStrings(src); ok {
		*dst = out
		return nil
	}
	*dst = nil
	return json.Unmarshal([]byte(src), dst)
}

// plainStrings parses src if it is an array of plain strings (see decodeStrings), with
// JSON whitespace between tokens.
func plainStrings(src string) ([]string, bool) {
	i := skipSpace(src, 0)
	if i >= len(src) || src[i] != '[' {
		return nil, false
	}
	i = skipSpace(src, i+1)
	out := []string{}
	if i < len(src) && src[i] == ']' {
		return out, skipSpace(src, i+1) == len(src)
	}
	for {
		if i >= len(src) || src[i] != '"' {
			return nil, false
		}
		j := i + 1
		for j < len(src) && src[j] != '"' {
			if c := src[j]; c < 0x20 || c >= 0x7f || c == '\\' {
				return nil, false
			}
			j++
		}
		if j >= len(src) {
			return nil, false
		}
		out = append(out, src[i+1:j])
		i = skipSpace(src, j+1)
		if i >= len(src) {
			return nil, false
		}
		switch src[i] {
		case ',':
			i = skipSpace(src, i+1)
		case ']':
			return out, skipSpace(src, i+1) == len(src)
		default:
			return nil, false
		}
	}
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}
