package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentmcp/agentmcp/client"
)

// Exit codes of the client commands, one per kind of failure, for scripts.
const (
	exitOther      = 1
	exitNotFound   = 3
	exitConflict   = 4
	exitAuth       = 5
	exitValidation = 6
)

// apiFailure is a failed API call as the CLI reports it: the API's message and code, and
// an exit code for its kind.
type apiFailure struct{ e *client.Error }

func (f apiFailure) Error() string {
	var b strings.Builder
	b.WriteString(f.e.Message)
	if f.e.Code != "" {
		fmt.Fprintf(&b, " (%s)", f.e.Code)
	}
	for _, d := range f.e.Details {
		fmt.Fprintf(&b, "\n  %s: %s", d.Field, d.Message)
	}
	return b.String()
}

func (f apiFailure) ExitCode() int {
	switch f.e.Status {
	case http.StatusNotFound:
		return exitNotFound
	case http.StatusConflict:
		return exitConflict
	case http.StatusUnauthorized, http.StatusForbidden:
		return exitAuth
	case http.StatusBadRequest:
		return exitValidation
	}
	return exitOther
}

// cliErr turns an *client.Error into an apiFailure and leaves other errors as they are.
func cliErr(err error) error {
	var ce *client.Error
	if errors.As(err, &ce) {
		return apiFailure{ce}
	}
	return err
}

// clientOptions are the flags every client command shares.
type clientOptions struct {
	url, apiKey, output string
}

func (o *clientOptions) flags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&o.url, "url", envOr("AGENTMCP_URL", "http://localhost:8080/v3"), "API base URL (env AGENTMCP_URL)")
	f.StringVar(&o.apiKey, "api-key", os.Getenv("AGENTMCP_API_KEY"), "API key (env AGENTMCP_API_KEY)")
	f.StringVarP(&o.output, "output", "o", "table", "output: table, or json (exactly the API's JSON)")
}

func (o *clientOptions) client() (*client.Client, error) {
	if o.output != "table" && o.output != "json" {
		return nil, fmt.Errorf("--output %q: want table or json", o.output)
	}
	if o.apiKey == "" {
		return nil, errors.New("no API key: pass --api-key or set AGENTMCP_API_KEY")
	}
	return client.New(o.url, o.apiKey, client.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}))
}

func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func printServer(w io.Writer, s *client.MCPServer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"slug", s.Slug}, {"name", s.Name}, {"url", s.Url}, {"description", s.Description}, {"icon", s.Icon},
		{"id", s.UnderscoreId}, {"app", s.AppId}, {"created", millis(s.CreatedAt)}, {"updated", millis(s.UpdatedAt)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	return tw.Flush()
}

func serverTable(w io.Writer, servers []client.MCPServer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tURL\tCREATED")
	for _, s := range servers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Slug, s.Name, s.Url, millis(s.CreatedAt))
	}
	return tw.Flush()
}

func serversCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{Use: "servers", Short: "Manage MCP servers through the API"}
	o.flags(cmd)

	var all bool
	var limit int
	list := &cobra.Command{
		Use:   "list [--all] [--limit N]",
		Short: "List MCP servers, newest first (one page, or --all of them)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !all {
				page, err := c.ListServers(cmd.Context(), client.ListOptions{Limit: limit})
				if err != nil {
					return cliErr(err)
				}
				if o.output == "json" {
					return printJSON(out, page)
				}
				return serverTable(out, page.Data)
			}
			var servers []client.MCPServer
			for s, err := range c.All(cmd.Context(), limit) {
				if err != nil {
					return cliErr(err)
				}
				servers = append(servers, s)
			}
			if o.output == "json" {
				if servers == nil {
					servers = []client.MCPServer{}
				}
				return printJSON(out, servers)
			}
			return serverTable(out, servers)
		},
	}
	list.Flags().BoolVar(&all, "all", false, "every server, following the pages")
	list.Flags().IntVar(&limit, "limit", 0, "page size, 1-100 (default: the server's, 10)")

	get := &cobra.Command{
		Use:   "get SLUG",
		Short: "Show one MCP server",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			s, err := c.GetServer(cmd.Context(), args[0])
			if err != nil {
				return cliErr(err)
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), s)
			}
			return printServer(cmd.OutOrStdout(), s)
		},
	}

	var in struct{ name, slug, url, description, icon string }
	create := &cobra.Command{
		Use:   "create --name NAME --slug SLUG --url URL [--description TEXT] [--icon URL]",
		Short: "Register an MCP server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			req := client.CreateMCPServer{Name: in.name, Slug: in.slug, Url: in.url}
			if cmd.Flags().Changed("description") {
				req.Description = &in.description
			}
			if cmd.Flags().Changed("icon") {
				req.Icon = &in.icon
			}
			s, err := c.CreateServer(cmd.Context(), req)
			if err != nil {
				return cliErr(err)
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), s)
			}
			return printServer(cmd.OutOrStdout(), s)
		},
	}
	for _, f := range []struct {
		p          *string
		name, help string
	}{{&in.name, "name", "human-readable name"}, {&in.slug, "slug", "unique, URL-safe id in the app"}, {&in.url, "url", "the server's http(s) URL"}, {&in.description, "description", "what it offers"}, {&in.icon, "icon", "icon URL"}} {
		create.Flags().StringVar(f.p, f.name, "", f.help)
	}
	for _, req := range []string{"name", "slug", "url"} {
		create.MarkFlagRequired(req)
	}

	var up struct{ name, url, description, icon string }
	update := &cobra.Command{
		Use:   "update SLUG [--name NAME] [--url URL] [--description TEXT] [--icon URL]",
		Short: "Change an MCP server; only the flags given change (\"\" clears description or icon)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			var p client.UpdateMCPServer
			if cmd.Flags().Changed("name") {
				p.Name = &up.name
			}
			if cmd.Flags().Changed("url") {
				p.Url = &up.url
			}
			if cmd.Flags().Changed("description") {
				p.Description = &up.description
			}
			if cmd.Flags().Changed("icon") {
				p.Icon = &up.icon
			}
			s, err := c.UpdateServer(cmd.Context(), args[0], p)
			if err != nil {
				return cliErr(err)
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), s)
			}
			return printServer(cmd.OutOrStdout(), s)
		},
	}
	update.Flags().StringVar(&up.name, "name", "", "new name")
	update.Flags().StringVar(&up.url, "url", "", "new URL")
	update.Flags().StringVar(&up.description, "description", "", "new description")
	update.Flags().StringVar(&up.icon, "icon", "", "new icon URL")

	del := &cobra.Command{
		Use:   "delete SLUG",
		Short: "Delete an MCP server (and detach it from every agent)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			if err := c.DeleteServer(cmd.Context(), args[0]); err != nil {
				return cliErr(err)
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), map[string]any{"success": true, "message": "MCP server deleted successfully"})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	}

	var update2 bool
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Create the MCP servers of a JSON-lines file (as export writes); existing slugs are skipped, or updated with --update",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			return importServers(cmd.Context(), c, args[0], update2, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	imp.Flags().BoolVar(&update2, "update", false, "update servers whose slug exists instead of skipping them")

	exp := &cobra.Command{
		Use:   "export [FILE]",
		Short: "Write every MCP server as JSON lines, to FILE or standard output",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(args) == 1 {
				f, err := os.Create(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			bw := bufio.NewWriter(w)
			n := 0
			for s, err := range c.All(cmd.Context(), 100) {
				if err != nil {
					return cliErr(err)
				}
				if err := printJSON(bw, s); err != nil {
					return err
				}
				n++
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			if len(args) == 1 {
				fmt.Fprintf(cmd.ErrOrStderr(), "exported %d MCP servers to %s\n", n, args[0])
			}
			return nil
		},
	}
	probeCmd := &cobra.Command{
		Use:   "probe SLUG",
		Short: "Connect to the server's URL now as an MCP client and show what answered",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			r, err := c.ProbeServer(cmd.Context(), args[0])
			if err != nil {
				return cliErr(err)
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), r)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "status:\t%s\nserver:\t%s %s\nprotocol:\t%s\ntools:\t%d\nlatency:\t%d ms\n", r.Status, r.ServerInfo.Name, r.ServerInfo.Version, r.ProtocolVersion, r.ToolCount, r.LatencyMs)
			if r.Error != "" {
				fmt.Fprintf(tw, "error:\t%s\n", r.Error)
			}
			if r.ResourceMetadata != nil && *r.ResourceMetadata != "" {
				fmt.Fprintf(tw, "auth:\t%s, metadata at %s\n", deref(r.AuthScheme), *r.ResourceMetadata)
			}
			return tw.Flush()
		},
	}
	tools := &cobra.Command{
		Use:   "tools SLUG",
		Short: "List the tools the server offered at its last successful probe",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			r, err := c.ServerTools(cmd.Context(), args[0])
			if err != nil {
				return cliErr(err)
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), r)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TOOL\tTITLE\tDESCRIPTION")
			for _, t := range r.Tools {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, deref(t.Title), deref(t.Description))
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(list, get, create, update, del, imp, exp, probeCmd, tools)
	return cmd
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
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

// importServers creates each server of a JSON-lines file; a re-run changes nothing.
func importServers(ctx context.Context, c *client.Client, path string, update bool, out, errOut io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	progress := isTerminal(errOut)
	var created, updated, skipped int
	for i, l := range lines {
		var s client.MCPServer
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			return fmt.Errorf("%s line %d: %w", path, i+1, err)
		}
		desc, icon := s.Description, s.Icon
		_, err := c.CreateServer(ctx, client.CreateMCPServer{Name: s.Name, Slug: s.Slug, Url: s.Url, Description: &desc, Icon: &icon})
		switch {
		case err == nil:
			created++
		case errors.Is(err, client.ErrConflict) && update:
			name, url := s.Name, s.Url
			if _, err := c.UpdateServer(ctx, s.Slug, client.UpdateMCPServer{Name: &name, Url: &url, Description: &desc, Icon: &icon}); err != nil {
				return fmt.Errorf("%s line %d (%s): %w", path, i+1, s.Slug, cliErr(err))
			}
			updated++
		case errors.Is(err, client.ErrConflict):
			skipped++
		default:
			return fmt.Errorf("%s line %d (%s): %w", path, i+1, s.Slug, cliErr(err))
		}
		if progress {
			fmt.Fprintf(errOut, "\r\033[Kimporting %d/%d %s", i+1, len(lines), bar(i+1, len(lines)))
		}
	}
	if progress {
		fmt.Fprint(errOut, "\r\033[K")
	}
	fmt.Fprintf(out, "created %d, updated %d, skipped %d (already there)\n", created, updated, skipped)
	return nil
}

func bar(done, total int) string {
	const width = 30
	n := width * done / max(1, total)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

func agentsCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{Use: "agents", Short: "Attach MCP servers to agents through the API"}
	o.flags(cmd)
	printAgent := func(cmd *cobra.Command, a *client.Agent) error {
		if o.output == "json" {
			return printJSON(cmd.OutOrStdout(), a)
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "uid:\t%s\nname:\t%s\nmcpServers:\t%s\nupdated:\t%s\n", a.Uid, a.Name, strings.Join(a.McpServers, ", "), millis(a.UpdatedAt))
		return tw.Flush()
	}
	manage := func(use, short string, add bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " UID SLUG...",
			Short: short,
			Args:  cobra.MinimumNArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := o.client()
				if err != nil {
					return err
				}
				var a *client.Agent
				if add {
					a, err = c.AddMCPServers(cmd.Context(), args[0], args[1:]...)
				} else {
					a, err = c.RemoveMCPServers(cmd.Context(), args[0], args[1:]...)
				}
				if err != nil {
					return cliErr(err)
				}
				return printAgent(cmd, a)
			},
		}
	}
	get := &cobra.Command{
		Use:   "get UID",
		Short: "Show an agent",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			a, err := c.GetAgent(cmd.Context(), args[0])
			if err != nil {
				return cliErr(err)
			}
			return printAgent(cmd, a)
		},
	}
	cmd.AddCommand(get,
		manage("attach", "Attach MCP servers (by slug) to an agent", true),
		manage("detach", "Detach MCP servers from an agent", false))
	return cmd
}
