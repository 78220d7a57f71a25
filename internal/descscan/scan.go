package descscan

import (
	"encoding/json"
	"slices"
)

// Definition returns the flags of an item's definition (JSON): its description's, and
// Text's of every other string in it (title, the input schema's property descriptions,
// argument descriptions), sorted, each once. A definition that is not JSON has none.
func Definition(def []byte) []string {
	var v any
	if json.Unmarshal(def, &v) != nil {
		return nil
	}
	var out []string
	if m, ok := v.(map[string]any); ok {
		if d, ok := m["description"].(string); ok {
			out = append(out, Description(d)...)
		}
	}
	walk(v, func(s string) { out = append(out, Text(s)...) })
	slices.Sort(out)
	return slices.Compact(out)
}

// walk calls fn with every string (keys too) in v.
func walk(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case []any:
		for _, e := range x {
			walk(e, fn)
		}
	case map[string]any:
		for k, e := range x {
			fn(k)
			walk(e, fn)
		}
	}
}
