package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSummary: a real `go test -json` run of a passing, a skipping and a failing test prints
// the closing lines and the failure as plain go test does, and lists the skipped test with
// its reason at the end; the exit code is go test's.
func TestSummary(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"go.mod":      "module jt\n\ngo 1.26\n",
		"a/a_test.go": "package a\nimport \"testing\"\nfunc TestOK(t *testing.T) {}\nfunc TestSkip(t *testing.T) { t.Skip(\"SKIPPED: chromium is not installed\") }\n",
		"b/b_test.go": "package b\nimport \"testing\"\nfunc TestFail(t *testing.T) { t.Fatal(\"boom\") }\n",
	} {
		if err := writeFile(filepath.Join(dir, name), text); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-json", "-count=1", "./...")
	cmd.Dir = dir
	raw, _ := cmd.Output()
	var b strings.Builder
	w := bufio.NewWriter(&b)
	skipped := summarize(strings.NewReader(string(raw)), w)
	printSkipped(w, skipped)
	w.Flush()
	out := b.String()
	for _, want := range []string{"ok  \tjt/a\t", "--- FAIL: TestFail", "b_test.go:3: boom", "FAIL\tjt/b\t",
		"\nSKIPPED: 1 test did not run:\n  jt/a TestSkip: SKIPPED: chromium is not installed\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "=== RUN") || strings.Contains(out, "--- PASS") || strings.Contains(out, "{\"") {
		t.Errorf("output has what plain go test does not print:\n%s", out)
	}

	// The command itself: go test's exit code.
	bin := filepath.Join(t.TempDir(), "testsummary")
	if o, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, o)
	}
	for pkg, code := range map[string]int{"./a": 0, "./...": 1} {
		run := exec.Command(bin, "go", "test", "-count=1", pkg)
		run.Dir = dir
		o, err := run.Output()
		got := 0
		if ee, ok := err.(*exec.ExitError); ok {
			got = ee.ExitCode()
		}
		if got != code || !strings.Contains(string(o), "SKIPPED: 1 test") || (code != 0) != strings.HasSuffix(string(o), "\nFAIL\n") {
			t.Errorf("testsummary go test %s: exit %d, want %d\n%s", pkg, got, code, o)
		}
	}
}

// TestSummaryUnfinished: a package killed by go test's -timeout shows the tests that were
// still running and what they logged (a make test that failed under load said nothing else).
func TestSummaryUnfinished(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"go.mod":      "module jt\n\ngo 1.26\n",
		"c/c_test.go": "package c\nimport \"testing\"\nfunc TestHang(t *testing.T) { t.Log(\"waiting for the peer\"); select {} }\n",
	} {
		if err := writeFile(filepath.Join(dir, name), text); err != nil {
			t.Fatal(err)
		}
	}
	// The test blocks forever, so the timeout always fires, however slow the machine.
	cmd := exec.Command("go", "test", "-json", "-count=1", "-timeout", "1s", "./c")
	cmd.Dir = dir
	raw, _ := cmd.Output()
	var b strings.Builder
	w := bufio.NewWriter(&b)
	summarize(strings.NewReader(string(raw)), w)
	w.Flush()
	out := b.String()
	for _, want := range []string{"--- unfinished: TestHang", "waiting for the peer", "FAIL\tjt/c\t"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func writeFile(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
