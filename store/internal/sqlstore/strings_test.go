package sqlstore

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeStrings: decodeStrings agrees with encoding/json on every input, its fast path
// included (an error where json errs, the same strings where it does not).
func FuzzDecodeStrings(f *testing.F) {
	for _, s := range []string{`[]`, ` [ ] `, `["a"]`, `["s1", "s2"]`, `["a","b","c"]`, `["é"]`, `["a\"b"]`, `["a\u0041"]`,
		`null`, `[1]`, `["a",]`, `["a"`, `["a"] x`, `[,"a"]`, `{"a":1}`, ``, `["\t"]`, "[\"a\tb\"]", `["a" "b"]`, "[\n\"x\"\n]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var want []string
		wantErr := json.Unmarshal([]byte(src), &want)
		var got []string
		err := decodeStrings(src, &got)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("decodeStrings(%q): error %v, encoding/json %v", src, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("decodeStrings(%q) = %q, encoding/json %q", src, got, want)
		}
	})
}

func TestPlainStrings(t *testing.T) {
	for src, want := range map[string][]string{`[]`: {}, `["s1", "s2"]`: {"s1", "s2"}, " [\"a\" ,\n\"b\"] ": {"a", "b"}} {
		if got, ok := plainStrings(src); !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("plainStrings(%q) = %q, %v", src, got, ok)
		}
	}
	for _, src := range []string{`["a\"b"]`, `["é"]`, `null`, `["a",]`} {
		if _, ok := plainStrings(src); ok {
			t.Errorf("plainStrings(%q) took the fast path", src)
		}
	}
}
