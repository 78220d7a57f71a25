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
	"sync/atomic"
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
		h.Flush()
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
		wrote := h.LogRequest(&r)
		h.Flush()
		if wrote || b.Len() != 0 {
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
	go func() { wg.Wait(); h.Flush(); pw.Close() }()
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

// counting records each Write it is given.
type counting struct {
	mu     sync.Mutex
	writes []string
}

func (c *counting) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, string(p))
	return len(p), nil
}

func (c *counting) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.writes...)
}

// Access lines are gathered and written together, by the timer without anyone asking; an
// slog record goes out before Log returns, after the lines gathered before it. The log is
// held while the lines are logged, so how many writes they take does not depend on how
// fast the loop runs: one timer's write may take the lines gathered before it, and the next
// takes every line logged while the first waited.
func TestLinesGatheredThenWritten(t *testing.T) {
	g := &gated{open: make(chan struct{})}
	h := NewJSONHandler(g, nil)
	const n = 100
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		for i := 0; i < n; i++ {
			h.LogRequest(&Request{ID: "a", Method: "GET", Status: 200})
		}
	}()
	select {
	case <-logged:
	case <-time.After(30 * time.Second): // roomy: the loop waits for nothing but the log
		t.Fatal("logging waited for the held log: lines were not gathered")
	}
	close(g.open)
	for deadline := time.Now().Add(30 * time.Second); g.n.Load() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lines written, by the timer", g.n.Load(), n)
		}
	}
	if got := g.entered.Load(); got > 2 {
		t.Errorf("%d lines took %d writes", n, got)
	}

	var w2 counting
	h2 := NewJSONHandler(&w2, nil)
	h2.LogRequest(&Request{ID: "first", Method: "GET", Status: 200})
	slog.New(h2).Warn("second")
	if all := strings.Join(w2.get(), ""); !strings.Contains(all, `"first"`) || !strings.Contains(all, `"second"`) || strings.Index(all, `"first"`) > strings.Index(all, `"second"`) {
		t.Fatalf("after Warn returned: %q, want the access line, then the record", all)
	}
}

// gated blocks every Write until open is closed.
type gated struct {
	open    chan struct{}
	entered atomic.Int64 // Writes begun
	n       atomic.Int64 // lines written
}

func (g *gated) Write(p []byte) (int, error) {
	g.entered.Add(1)
	<-g.open
	g.n.Add(int64(bytes.Count(p, []byte("\n"))))
	return len(p), nil
}

// A log that does not take its lines holds at most maxPending of them: past that, requests
// wait for the log, as they would for a synchronous write, instead of the process growing.
func TestStuckLogBounded(t *testing.T) {
	g := &gated{open: make(chan struct{})}
	h := NewJSONHandler(g, nil)
	const n = 5000 // ~100 bytes each: several times maxPending
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			h.LogRequest(&Request{ID: strings.Repeat("x", 32), Method: "GET", Route: "/r", Status: 200})
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); g.entered.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("nothing tried to write in 10 s")
		}
	}
	time.Sleep(50 * time.Millisecond) // without the bound, every line would be gathered by now
	select {
	case <-done:
		t.Fatal("all lines taken while the log was stuck")
	default:
	}
	close(g.open)
	<-done
	h.Flush()
	if got := g.n.Load(); got != n {
		t.Fatalf("%d lines written, want %d", got, n)
	}
}

// After Drain (a process about to exit) a line is written before LogRequest returns.
func TestDrainWritesAtOnce(t *testing.T) {
	var w counting
	h := NewJSONHandler(&w, nil)
	h.LogRequest(&Request{ID: "before", Method: "GET", Status: 200})
	Drain(slog.New(h))
	if got := strings.Join(w.get(), ""); !strings.Contains(got, `"before"`) {
		t.Fatalf("Drain left the gathered line: %q", got)
	}
	h.LogRequest(&Request{ID: "after", Method: "GET", Status: 200})
	if got := strings.Join(w.get(), ""); !strings.Contains(got, `"after"`) {
		t.Fatalf("a line after Drain waited: %q", got)
	}
}
