// Command testsummary runs `go test` with -json and prints what plain `go test` prints
// (each package's closing line, the output of failing tests, build errors), then every
// skipped test with its reason, so that a run that skipped the browser or PostgreSQL tests
// says so. It exits with go test's exit code.
//
//	testsummary go test -race -count=1 ./...
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

func main() {
	args := os.Args[1:]
	if len(args) < 2 || args[1] != "test" {
		fmt.Fprintln(os.Stderr, "usage: testsummary go test [flags] [packages]")
		os.Exit(2)
	}
	cmd := exec.Command(args[0], append([]string{"test", "-json"}, args[2:]...)...)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	skipped := summarize(stdout, w)
	err = cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		fmt.Fprintln(w, err)
		code = 1
	}
	printSkipped(w, skipped)
	if code != 0 {
		fmt.Fprintln(w, "FAIL") // go test's last line when anything failed
	}
	w.Flush()
	os.Exit(code)
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// skip is a skipped test and what it said.
type skip struct{ pkg, test, reason string }

// summarize copies r, go test -json's output, to w as plain go test would print it, and
// returns the skipped tests. Lines that do not parse are copied as they are.
func summarize(r io.Reader, w *bufio.Writer) []skip {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	held := map[[2]string][]string{} // a test's output until it passes, fails or skips
	var skipped []skip
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if json.Unmarshal(line, &e) != nil || e.Action == "" {
			w.Write(line)
			w.WriteByte('\n')
			continue
		}
		key := [2]string{e.Package, e.Test}
		switch {
		case e.Action == "build-output":
			w.WriteString(e.Output)
		case e.Action == "output" && e.Test == "":
			if e.Output != "PASS\n" { // plain go test shows a passing package by its ok line
				w.WriteString(e.Output)
			}
		case e.Action == "output":
			if !strings.HasPrefix(e.Output, "=== ") {
				held[key] = append(held[key], e.Output)
			}
		case e.Action == "fail" && e.Test == "":
			// A package that failed with tests still running (a timeout, a crash): their
			// output says where they were, as plain go test shows it.
			var open [][2]string
			for k := range held {
				if k[0] == e.Package {
					open = append(open, k)
				}
			}
			slices.SortFunc(open, func(a, b [2]string) int { return strings.Compare(a[1], b[1]) })
			for _, k := range open {
				fmt.Fprintf(w, "--- unfinished: %s\n", k[1])
				for _, o := range held[k] {
					w.WriteString(o)
				}
				delete(held, k)
			}
		case e.Action == "fail" && e.Test != "":
			for _, o := range held[key] {
				w.WriteString(o)
			}
			delete(held, key)
		case e.Action == "skip" && e.Test != "":
			skipped = append(skipped, skip{e.Package, e.Test, reason(held[key])})
			delete(held, key)
		case e.Action == "pass" && e.Test != "":
			delete(held, key)
		}
		w.Flush()
	}
	return skipped
}

// reason is what a skipped test logged, on one line.
func reason(out []string) string {
	var parts []string
	for _, o := range out {
		o = strings.TrimSpace(o)
		if o == "" || strings.HasPrefix(o, "--- SKIP") {
			continue
		}
		if _, msg, ok := strings.Cut(o, ": "); ok && strings.Contains(o[:strings.Index(o, ": ")], ".go:") {
			o = msg // drop the file:line prefix
		}
		parts = append(parts, o)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}

func printSkipped(w io.Writer, skipped []skip) {
	if len(skipped) == 0 {
		return
	}
	slices.SortStableFunc(skipped, func(a, b skip) int { return strings.Compare(a.pkg+" "+a.test, b.pkg+" "+b.test) })
	fmt.Fprintf(w, "\nSKIPPED: %d %s did not run:\n", len(skipped), map[bool]string{true: "test", false: "tests"}[len(skipped) == 1])
	for _, s := range skipped {
		fmt.Fprintf(w, "  %s %s: %s\n", s.pkg, s.test, s.reason)
	}
}
