package main

import (
	"os"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestConfigurationTableInREADME: the README's Configuration table lists every row of serve's
// configuration table, with its flag, its environment variable and its default, in order.
func TestConfigurationTableInREADME(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no ## Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var got []string
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`--") {
			continue
		}
		row := make([]string, 3)
		for i := range row {
			row[i] = strings.Trim(strings.TrimSpace(cells[i+1]), "`")
		}
		got = append(got, strings.Join(row, " | "))
	}
	var want, table []string
	for _, s := range serveSettings(&serveOptions{}) {
		want = append(want, "--"+s.flag+" | "+s.env+" | "+s.defaultText())
		table = append(table, "| `--"+s.flag+"` | `"+s.env+"` | "+s.defaultText()+" | "+s.help+" |")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("README.md's Configuration table:\n%s\nwant the rows of serveSettings:\n%s\n(e.g.\n%s)", strings.Join(got, "\n"), strings.Join(want, "\n"), strings.Join(table, "\n"))
	}
}

// TestEverySettingHasFlagAndEnv: each row has a flag and its own AGENTMCP_ variable, and no
// two rows share either.
func TestEverySettingHasFlagAndEnv(t *testing.T) {
	flags, envs := map[string]bool{}, map[string]bool{}
	for _, s := range serveSettings(&serveOptions{}) {
		if s.flag == "" || !strings.HasPrefix(s.env, "AGENTMCP_") || s.help == "" || flags[s.flag] || envs[s.env] {
			t.Errorf("setting %+v: want a unique flag, a unique AGENTMCP_ variable and help", s)
		}
		flags[s.flag], envs[s.env] = true, true
	}
	serve := serveCmd()
	n := 0
	serve.LocalFlags().VisitAll(func(f *pflag.Flag) {
		n++
		if !flags[f.Name] {
			t.Errorf("serve --%s is not in the configuration table", f.Name)
		}
	})
	if n != len(flags) {
		t.Errorf("serve has %d flags, the table %d rows", n, len(flags))
	}
}
