package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/gen"
)

// importLine is one server of an import file, with the number of its line.
type importLine struct {
	n int
	s client.CreateMCPServer
	// noSecret is what the line says of credentials whose secrets an export leaves out
	// ("bearer", "headers X-Api-Key"); "" when it has none, or carries them.
	noSecret string
}

// badImport is an import file with bad lines; nothing of it was written.
type badImport struct {
	path     string
	lines    int
	problems []string
}

func (b badImport) Error() string {
	return fmt.Sprintf("%s: %d bad %s, nothing imported:\n  %s", b.path, b.lines, plural(b.lines, "line"), strings.Join(b.problems, "\n  "))
}
func (badImport) ExitCode() int { return exitValidation }

// importServers checks every line of a JSON-lines file, then creates each server (or
// skips, or with update updates, those whose slug exists): a re-run changes nothing.
func importServers(ctx context.Context, c *client.Client, path string, update bool, out, errOut io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines, err := parseImport(path, b)
	if err != nil {
		return err
	}
	progress := isTerminal(errOut)
	var created, updated, skipped int
	var bare []string // servers created without the credentials their line names
	summary := func() {
		if progress {
			fmt.Fprint(errOut, "\r\033[K")
		}
		fmt.Fprintf(out, "created %d, updated %d, skipped %d (already there)\n", created, updated, skipped)
		if len(bare) > 0 {
			fmt.Fprintf(out, "%d created without credentials (an export holds their type and header names, never the secrets):\n  %s\n"+
				"add them with: agentmcp servers update SLUG --bearer-token-file FILE (or --header 'Name: @FILE', repeated)\n",
				len(bare), strings.Join(bare, "\n  "))
		}
	}
	for i, l := range lines {
		_, err := c.CreateServer(ctx, l.s)
		switch {
		case err == nil:
			created++
			if l.noSecret != "" {
				bare = append(bare, l.s.Slug+": "+l.noSecret)
			}
		case errors.Is(err, client.ErrConflict) && update:
			s := l.s
			if _, err := c.UpdateServer(ctx, s.Slug, client.UpdateMCPServer{Name: &s.Name, Url: &s.Url, Description: s.Description, Icon: s.Icon, Auth: s.Auth}); err != nil {
				summary()
				return fmt.Errorf("%s line %d (%s): %w", path, l.n, s.Slug, cliErr(err))
			}
			updated++
		case errors.Is(err, client.ErrConflict):
			skipped++
		default:
			summary()
			return fmt.Errorf("%s line %d (%s): %w", path, l.n, l.s.Slug, cliErr(err))
		}
		if progress {
			fmt.Fprintf(errOut, "\r\033[Kimporting %d/%d %s", i+1, len(lines), bar(i+1, len(lines)))
		}
	}
	summary()
	return nil
}

// parseImport reads every non-blank line of an import file as an MCP server, checked
// against the spec's CreateMcpServerDto, and collects every problem before failing.
func parseImport(path string, b []byte) ([]importLine, error) {
	spec, err := gen.GetSwagger()
	if err != nil {
		return nil, err
	}
	known := spec.Components.Schemas["McpServer"].Value.Properties
	create := spec.Components.Schemas["CreateMcpServerDto"].Value
	var lines []importLine
	var problems []string
	badLines := 0
	seen := map[string]int{}
	for i, text := range strings.Split(string(b), "\n") {
		n := i + 1
		if strings.TrimSpace(text) == "" {
			continue
		}
		before := len(problems)
		bad := func(format string, args ...any) {
			if len(problems) == before {
				badLines++
			}
			problems = append(problems, fmt.Sprintf("line %d: ", n)+fmt.Sprintf(format, args...))
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(text), &raw); err != nil {
			bad("not a JSON object: %v", err)
			continue
		}
		// An export carries what may be shown of credentials (type, header names), never a
		// secret: such an auth is left out, so an existing server keeps its own.
		noSecret := ""
		if a, ok := raw["auth"]; ok {
			var m struct {
				Type        string          `json:"type"`
				Token       json.RawMessage `json:"token"`
				Headers     json.RawMessage `json:"headers"`
				HeaderNames []string        `json:"headerNames"`
			}
			if json.Unmarshal(a, &m) == nil && m.Token == nil && m.Headers == nil {
				delete(raw, "auth")
				switch m.Type {
				case "", "none":
				case "bearer":
					noSecret = "bearer token"
				default:
					noSecret = strings.TrimSpace(m.Type + " " + strings.Join(m.HeaderNames, ", "))
				}
			}
		}
		body := map[string]any{}
		var unknown []string
		for k, v := range raw {
			if _, ok := known[k]; !ok {
				unknown = append(unknown, k)
				continue
			}
			if _, ok := create.Properties[k]; ok {
				var x any
				json.Unmarshal(v, &x) // valid JSON: the line parsed
				body[k] = x
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			bad("unknown %s %q (an export line has the fields of an MCP server)", plural(len(unknown), "field"), unknown)
			continue
		}
		if err := create.VisitJSON(body, openapi3.MultiErrors()); err != nil {
			for _, m := range schemaProblems(err) {
				bad("%s", m)
			}
			continue
		}
		var s client.CreateMCPServer
		bb, _ := json.Marshal(body)
		if err := json.Unmarshal(bb, &s); err != nil {
			bad("%v", err)
			continue
		}
		if prev, dup := seen[s.Slug]; dup {
			bad("slug %q is also on line %d", s.Slug, prev)
			continue
		}
		seen[s.Slug] = n
		lines = append(lines, importLine{n, s, noSecret})
	}
	if len(problems) > 0 {
		return nil, badImport{path, badLines, problems}
	}
	return lines, nil
}

// schemaProblems are the schema errors of err, one per field, in words.
func schemaProblems(err error) []string {
	var me openapi3.MultiError
	if !errors.As(err, &me) {
		me = openapi3.MultiError{err}
	}
	var out []string
	for _, e := range me {
		var se *openapi3.SchemaError
		if !errors.As(e, &se) {
			out = append(out, e.Error())
			continue
		}
		msg := se.Reason
		if se.SchemaField == "required" {
			msg = "is required"
		}
		if se.SchemaField == "pattern" {
			switch {
			case se.Schema.Pattern == `\S`:
				msg = "must not be blank"
			case se.Schema.Description != "":
				msg = "must be: " + strings.TrimSpace(strings.ReplaceAll(se.Schema.Description, "\n", " "))
			}
		}
		if field := strings.Join(se.JSONPointer(), "/"); field != "" {
			msg = field + ": " + msg
		}
		out = append(out, msg)
	}
	slices.Sort(out)
	return out
}

// isTerminal reports whether w is a character device (a person is watching).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func bar(done, total int) string {
	const width = 30
	n := width * done / max(1, total)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}
