package logx

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// fields decodes one JSON line into its keys and values in order, with the time checked
// and left out (the two writers take their own clocks).
func fields(t *testing.T, line string) []any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	var out []any
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%q: not an object (%v)", line, err)
	}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if k == "time" {
			ts, err := time.Parse(time.RFC3339Nano, v.(string))
			if err != nil || time.Since(ts) > time.Minute || time.Since(ts) < 0 {
				t.Fatalf("%q: time %v (%v)", line, v, err)
			}
			out = append(out, k)
			continue
		}
		out = append(out, k, v)
	}
	return out
}

func TestLogRequestWritesWhatSlogWrites(t *testing.T) {
	for _, r := range []Request{
		{ID: "0123abcd", Method: "GET", Route: "/v3/ai-agents/agent-builder/mcp-servers/:slug", Status: 200, Duration: 1234567 * time.Nanosecond, AppID: "app-1"},
		{ID: "x", Method: "P&<>ST", Route: "", Status: 405, AppID: ""},
		{ID: "q\"\\\n\t\x01", Method: "\u2028é\xff", Route: "/ü/*", Status: 599, Duration: -time.Second, AppID: "日本"},
	} {
		var fast, slow bytes.Buffer
		h := NewJSONHandler(&fast, nil)
		if !h.LogRequest(&r) {
			t.Fatal("the lane declined at the default level")
		}
		Log(context.Background(), slog.New(slog.NewJSONHandler(&slow, nil)), &r) // slog's own handler: the slog branch
		if !strings.HasSuffix(fast.String(), "}\n") || strings.Count(fast.String(), "\n") != 1 {
			t.Fatalf("not one line: %q", fast.String())
		}
		got, want := fields(t, fast.String()), fields(t, slow.String())
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if !bytes.Equal(gj, wj) {
			t.Errorf("lane: %s\nslog: %s", fast.String(), slow.String())
		}
	}
}

func TestLogRequestDeclines(t *testing.T) {
	r := Request{ID: "a", Method: "GET", Status: 200}
	for name, o := range map[string]*slog.HandlerOptions{
		"warn level":   {Level: slog.LevelWarn},
		"replace attr": {ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return a }},
		"add source":   {AddSource: true},
	} {
		var b bytes.Buffer
		h := NewJSONHandler(&b, o)
		if h.LogRequest(&r) || b.Len() != 0 {
			t.Errorf("%s: the lane wrote %q", name, b.String())
		}
	}
	lv := new(slog.LevelVar)
	var b bytes.Buffer
	h := NewJSONHandler(&b, &slog.HandlerOptions{Level: lv})
	if !h.LogRequest(&r) {
		t.Fatal("declined at info")
	}
	lv.Set(slog.LevelError) // a level changed at run time is seen
	if h.LogRequest(&r) {
		t.Fatal("wrote at error")
	}
}

// TestLinesStayWhole runs the lane and slog's records on one writer at once: every line
// must come out whole (the writer here, unlike a file, splits nothing for us).
func TestLinesStayWhole(t *testing.T) {
	pr, pw := io.Pipe()
	h := NewJSONHandler(&trickle{w: pw}, nil)
	log := slog.New(h)
	var wg sync.WaitGroup
	const n = 200
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < n; j++ {
				h.LogRequest(&Request{ID: strings.Repeat("i", 64), Method: "GET", Status: 200})
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < n; j++ {
				log.Warn("other", "k", strings.Repeat("v", 100))
			}
		}()
	}
	go func() { wg.Wait(); pw.Close() }()
	sc := bufio.NewScanner(pr)
	lines := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d torn: %q", lines, sc.Text())
		}
		lines++
	}
	if lines != 8*n {
		t.Fatalf("%d lines, want %d", lines, 8*n)
	}
}

// trickle writes in pieces, yielding between them, as a writer that is not atomic would.
type trickle struct{ w io.Writer }

func (t *trickle) Write(p []byte) (int, error) {
	for i := 0; i < len(p); i += 7 {
		if _, err := t.w.Write(p[i:min(i+7, len(p))]); err != nil {
			return i, err
		}
	}
	return len(p), nil
}
