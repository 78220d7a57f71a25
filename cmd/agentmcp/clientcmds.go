package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
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
	exitBusy       = 7 // 429: a rate limit, or every probe slot taken; try again after a while
)

// Exit codes of `servers probe`, one per outcome that is not ok.
var probeExitCodes = map[string]int{
	"auth_required": 10,
	"not_mcp":       11,
	"unreachable":   12,
	"timeout":       13,
	"blocked":       14,
}

// probeOutcome is a probe that ran and found the server not ok.
type probeOutcome struct{ slug, status string }

func (p probeOutcome) Error() string { return fmt.Sprintf("probe of %s: %s", p.slug, p.status) }
func (p probeOutcome) ExitCode() int {
	if c, ok := probeExitCodes[p.status]; ok {
		return c
	}
	return exitOther
}

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
	case http.StatusTooManyRequests:
		return exitBusy
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
	f.StringVar(&o.url, "url", "http://localhost:8080/v3", "API base URL (env AGENTMCP_URL)")
	fromEnv(f, "url", "AGENTMCP_URL")
	f.StringVar(&o.apiKey, "api-key", "", "API key (env AGENTMCP_API_KEY)")
	fromEnv(f, "api-key", "AGENTMCP_API_KEY")
	f.StringVarP(&o.output, "output", "o", "table", "output: table, or json (exactly the API's JSON)")
}

func (o *clientOptions) client(cmd *cobra.Command) (*client.Client, error) {
	if o.output != "table" && o.output != "json" {
		return nil, usage(cmd, "--output %q: want table or json", o.output)
	}
	if u, err := url.Parse(o.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usage(cmd, "API base URL %q (--url, env AGENTMCP_URL): want http(s)://host[:port]/v3", redactURL(o.url))
	}
	if o.apiKey == "" {
		return nil, errors.New("no API key: pass --api-key or set AGENTMCP_API_KEY")
	}
	return client.New(o.url, o.apiKey, client.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}))
}

// redactURL is raw without a password, for messages; what does not parse is not shown.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

// apiURLHint is a hint for a 404 that no route answered (ERR_NOT_FOUND, not a missing
// record) when the API base URL cmd used does not end in /v3, the base of every route.
func apiURLHint(cmd *cobra.Command, err error) string {
	var f apiFailure
	if cmd == nil || !errors.As(err, &f) || f.e.Status != http.StatusNotFound || f.e.Code != "ERR_NOT_FOUND" {
		return ""
	}
	for p := cmd; p != nil; p = p.Parent() {
		fl := p.PersistentFlags().Lookup("url")
		if fl == nil {
			continue
		}
		u, perr := url.Parse(fl.Value.String())
		if perr != nil || strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/v3") {
			return ""
		}
		return fmt.Sprintf("hint: the API base URL %s does not end in /v3; every route is under it (e.g. AGENTMCP_URL=%s)",
			u.Redacted(), strings.TrimRight(u.Redacted(), "/")+"/v3")
	}
	return ""
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
		{"credentials", authLine(s.Auth)},
		{"health", healthLine(s.Health)},
		{"id", s.UnderscoreId}, {"app", s.AppId}, {"created", millis(s.CreatedAt)}, {"updated", millis(s.UpdatedAt)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	return tw.Flush()
}

// authLine is what is stored of a server's credentials: their type and header names.
func authLine(a *client.MCPServerAuth) string {
	if a == nil {
		return "none (add with: servers update SLUG --bearer-token-file FILE, or --header 'Name: @FILE')"
	}
	if a.Type == "bearer" {
		return "bearer token (sent as Authorization)"
	}
	return fmt.Sprintf("%s (%s)", a.Type, strings.Join(a.HeaderNames, ", "))
}

// healthLine is the outcome of the last probe in words.
func healthLine(h *client.MCPServerHealth) string {
	if h == nil {
		return "unknown (never probed)"
	}
	s := fmt.Sprintf("%s, checked %s", h.Status, millis(h.CheckedAt))
	if h.Status == "ok" {
		s += fmt.Sprintf(", %d %s", h.ToolCount, plural(h.ToolCount, "tool"))
	}
	return s
}

// healthCells are the HEALTH and TOOLS cells of a server's row.
func healthCells(h *client.MCPServerHealth) (string, string) {
	if h == nil {
		return "unknown", "-"
	}
	if h.Status != "ok" {
		return string(h.Status), "-"
	}
	return string(h.Status), fmt.Sprint(h.ToolCount)
}

func serverTable(w io.Writer, servers []client.MCPServer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tURL\tHEALTH\tTOOLS\tCREATED")
	for _, s := range servers {
		health, tools := healthCells(s.Health)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Slug, s.Name, s.Url, health, tools, millis(s.CreatedAt))
	}
	return tw.Flush()
}

// plural is noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

// listFlags are the flags of the list commands.
type listFlags struct {
	all   bool
	limit int
}

func (l *listFlags) add(cmd *cobra.Command, what string) {
	cmd.Flags().BoolVar(&l.all, "all", false, "every "+what+", following the pages")
	cmd.Flags().IntVar(&l.limit, "limit", 0, "page size, 1-100 (default: the server's, 10)")
}

// check refuses a --limit the API would not take, rather than letting 0 mean the default.
func (l *listFlags) check(cmd *cobra.Command) error {
	if cmd.Flags().Changed("limit") && (l.limit < 1 || l.limit > 100) {
		return usage(cmd, "--limit %d: want 1-100", l.limit)
	}
	return nil
}

// moreHint tells, on stderr, that a full first page is not all there is: it looks one row
// past the page, since the API does not count.
func moreHint[T any](cmd *cobra.Command, data []T, meta client.PageMeta, next func(client.ListOptions) (int, error), what string) error {
	if meta.Next == nil || len(data) < meta.Current.Limit {
		return nil
	}
	n, err := next(client.ListOptions{Limit: 1, Affix: string(meta.Next.Affix), CreatedAt: meta.Next.CreatedAt})
	if err != nil {
		return cliErr(err)
	}
	if n > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "more %s than these %d: --all lists every one (or --limit up to 100 per page)\n", what, len(data))
	}
	return nil
}

var healthFilters = []string{"ok", "failing", "unknown"}

func serversCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{Use: "servers", Short: "Manage MCP servers through the API"}
	o.flags(cmd)

	var lf listFlags
	var health string
	list := &cobra.Command{
		Use:   "list [--all] [--limit N] [--health ok|failing|unknown]",
		Short: "List MCP servers, newest first, with the health of their last probe (one page, or --all of them)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if health != "" && !slices.Contains(healthFilters, health) {
				return usage(cmd, "--health %q: want ok, failing or unknown", health)
			}
			if err := lf.check(cmd); err != nil {
				return err
			}
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			lo := client.ListOptions{Limit: lf.limit, Health: health}
			if !lf.all {
				page, err := c.ListServers(cmd.Context(), lo)
				if err != nil {
					return cliErr(err)
				}
				if o.output == "json" {
					return printJSON(out, page)
				}
				if err := serverTable(out, page.Data); err != nil {
					return err
				}
				return moreHint(cmd, page.Data, page.Meta, func(n client.ListOptions) (int, error) {
					n.Health = health
					p, err := c.ListServers(cmd.Context(), n)
					if err != nil {
						return 0, err
					}
					return len(p.Data), nil
				}, "servers")
			}
			servers := []client.MCPServer{}
			for s, err := range c.AllServers(cmd.Context(), lo) {
				if err != nil {
					return cliErr(err)
				}
				servers = append(servers, s)
			}
			if o.output == "json" {
				return printJSON(out, servers)
			}
			return serverTable(out, servers)
		},
	}
	lf.add(list, "server")
	list.Flags().StringVar(&health, "health", "", "only servers whose last probe succeeded (ok), failed (failing), or that were never probed (unknown)")

	get := &cobra.Command{
		Use:   "get SLUG",
		Short: "Show one MCP server, with the health of its last probe",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd)
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

	var in struct{ name, slug, serverURL, url, description, icon string }
	var createAuth, updateAuth authOptions
	create := &cobra.Command{
		Use:   "create --name NAME --slug SLUG --server-url URL [--description TEXT] [--icon URL] [--bearer-token-file F | --header 'Name: @F'...]",
		Short: "Register an MCP server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			serverURL, err := o.serverURL(cmd, in.serverURL, in.url)
			if err != nil {
				return err
			}
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			req := client.CreateMCPServer{Name: in.name, Slug: in.slug, Url: *serverURL}
			if cmd.Flags().Changed("description") {
				req.Description = &in.description
			}
			if cmd.Flags().Changed("icon") {
				req.Icon = &in.icon
			}
			if req.Auth, err = createAuth.input(cmd.InOrStdin()); err != nil {
				return usage(cmd, "%s", err.Error())
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
	}{{&in.name, "name", "human-readable name"}, {&in.slug, "slug", "unique, URL-safe id in the app"}, {&in.serverURL, "server-url", "the MCP server's http(s) URL"}, {&in.description, "description", "what it offers"}, {&in.icon, "icon", "icon URL"}} {
		create.Flags().StringVar(f.p, f.name, "", f.help)
	}
	for _, req := range []string{"name", "slug"} {
		create.MarkFlagRequired(req)
	}
	serverURLFlags(create, &in.url)
	createAuth.flags(create, false)

	var up struct{ name, serverURL, url, description, icon string }
	update := &cobra.Command{
		Use:   "update SLUG [--name NAME] [--server-url URL] [--description TEXT] [--icon URL] [--bearer-token-file F | --header 'Name: @F'... | --no-auth]",
		Short: "Change an MCP server; only the flags given change (\"\" clears description or icon)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p client.UpdateMCPServer
			for name, dst := range map[string]**string{"name": &p.Name, "description": &p.Description, "icon": &p.Icon} {
				if f := cmd.Flags().Lookup(name); f.Changed {
					v := f.Value.String()
					*dst = &v
				}
			}
			serverURL, err := o.serverURL(cmd, up.serverURL, up.url)
			if err != nil {
				return err
			}
			p.Url = serverURL
			auth, err := updateAuth.input(cmd.InOrStdin())
			if err != nil {
				return usage(cmd, "%s", err.Error())
			}
			p.Auth = auth
			if p.Name == nil && p.Url == nil && p.Description == nil && p.Icon == nil && p.Auth == nil {
				return usage(cmd, "nothing to change: give at least one of --name, --server-url, --description, --icon, --bearer-token-file, --header, --no-auth")
			}
			c, err := o.client(cmd)
			if err != nil {
				return err
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
	update.Flags().StringVar(&up.serverURL, "server-url", "", "the MCP server's new URL")
	serverURLFlags(update, &up.url)
	update.Flags().StringVar(&up.description, "description", "", "new description")
	update.Flags().StringVar(&up.icon, "icon", "", "new icon URL")
	updateAuth.flags(update, true)

	del := &cobra.Command{
		Use:   "delete SLUG",
		Short: "Delete an MCP server (and detach it from every agent)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd)
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
		Long: "Create the MCP servers of a JSON-lines file, as export writes it. Every line is checked\n" +
			"first (every bad line is reported, with its number) and nothing is written unless all\n" +
			"are good. Existing slugs are skipped, or updated with --update, so a re-run changes\n" +
			"nothing. Prints how many servers were created, updated and skipped, and which were\n" +
			"created without the credentials their line names (an export never holds a secret: in\n" +
			"another app, add them with servers update SLUG --bearer-token-file FILE or --header).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd)
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
			c, err := o.client(cmd)
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
				fmt.Fprintf(cmd.ErrOrStderr(), "exported %d MCP %s to %s\n", n, plural(n, "server"), args[0])
			}
			return nil
		},
	}
	probeCmd := &cobra.Command{
		Use:   "probe SLUG",
		Short: "Connect to the server's URL now as an MCP client and show what answered",
		Long: "Connect to the server's URL now as an MCP client (through the API, so from the agentmcp\n" +
			"server), show what answered, and record it as the server's health.\n\n" +
			"Exit code by outcome: 0 ok, 10 auth_required, 11 not_mcp, 12 unreachable, 13 timeout,\n" +
			"14 blocked (a non-public address: serve with --probe-allow-private for local development);\n" +
			"7 when every probe slot is taken (429: the app's --probe-workers-per-app, or --probe-workers): try again.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			r, err := c.ProbeServer(cmd.Context(), args[0])
			if err != nil {
				return cliErr(err)
			}
			if o.output == "json" {
				err = printJSON(cmd.OutOrStdout(), r)
			} else {
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "status:\t%s\nserver:\t%s %s\nprotocol:\t%s\ntools:\t%d\nlatency:\t%d ms\n", r.Status, r.ServerInfo.Name, r.ServerInfo.Version, r.ProtocolVersion, r.ToolCount, r.LatencyMs)
				if r.Error != "" {
					fmt.Fprintf(tw, "error:\t%s\n", r.Error)
				}
				if r.ResourceMetadata != nil && *r.ResourceMetadata != "" {
					fmt.Fprintf(tw, "auth:\t%s, metadata at %s\n", deref(r.AuthScheme), *r.ResourceMetadata)
				}
				err = tw.Flush()
			}
			if err == nil && r.Status != "ok" {
				err = probeOutcome{args[0], string(r.Status)}
			}
			return err
		},
	}
	tools := &cobra.Command{
		Use:   "tools SLUG",
		Short: "List the tools the server offered at its last successful probe",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd)
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
	var wait time.Duration
	connect := &cobra.Command{
		Use:   "connect SLUG [--wait 10m]",
		Short: "Connect a server that takes OAuth: print the URL to approve agentmcp at, and wait until it is approved",
		Long: "Ask agentmcp for the server's authorization URL (POST …/oauth/authorize), print it, and\n" +
			"wait until a person has opened it and approved, and the authorization server has sent them\n" +
			"back to agentmcp's /oauth/callback (--public-url of serve). Exit code 0 once connected.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			before, err := c.GetServer(cmd.Context(), args[0])
			if err != nil {
				return cliErr(err)
			}
			u, err := c.AuthorizeServer(cmd.Context(), args[0])
			if err != nil {
				return cliErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Open this URL in a browser to connect %s:\n\n  %s\n\n", args[0], u)
			fmt.Fprintf(cmd.ErrOrStderr(), "waiting for the approval (up to %s)…\n", wait)
			ctx, cancel := context.WithTimeout(cmd.Context(), wait)
			defer cancel()
			for {
				select {
				case <-ctx.Done():
					return fmt.Errorf("%s was not connected within %s: run 'agentmcp servers connect %s' again", args[0], wait, args[0])
				case <-time.After(time.Second):
				}
				m, err := c.GetServer(ctx, args[0])
				if err != nil {
					if ctx.Err() != nil {
						continue
					}
					return cliErr(err)
				}
				if newlyConnected(before.Auth, m.Auth) {
					fmt.Fprintf(cmd.OutOrStdout(), "connected %s\n", args[0])
					return nil
				}
			}
		},
	}
	connect.Flags().DurationVar(&wait, "wait", 10*time.Minute, "how long to wait for the approval (an authorization lasts 10 minutes)")
	cmd.AddCommand(list, get, create, update, del, imp, exp, probeCmd, tools, connect)
	return cmd
}

// serverURLFlags adds the --url of servers create and update, which named the MCP server's
// URL before --server-url did, and shadows the API's --url of every other command.
func serverURLFlags(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "url", "", "with --server-url: the API base URL, as on every other command (env AGENTMCP_URL); "+
		"without it: the MCP server's URL (deprecated: use --server-url)")
}

// serverURL is the MCP server's URL that servers create or update was given (nil: none).
// --server-url names it, and --url is then the API's, as everywhere else; --url alone is
// still taken for the MCP server's URL, with a notice, so that old scripts keep working.
func (o *clientOptions) serverURL(cmd *cobra.Command, serverURL, legacy string) (*string, error) {
	given := cmd.Flags().Changed
	switch {
	case given("server-url") && given("url"):
		o.url = legacy
		return &serverURL, nil
	case given("server-url"):
		return &serverURL, nil
	case given("url"):
		fmt.Fprintf(cmd.ErrOrStderr(), "agentmcp: %s --url URL is deprecated for the MCP server's URL: use --server-url URL (--url will be the API's base URL, as on every other command)\n", cmd.CommandPath())
		return &legacy, nil
	case cmd.Name() == "create":
		return nil, usage(cmd, "required flag \"server-url\" not set")
	}
	return nil, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// newlyConnected: the server is connected now and was not, or has new tokens.
func newlyConnected(before, now *client.MCPServerAuth) bool {
	if now == nil || now.Connected == nil || !*now.Connected {
		return false
	}
	if before == nil || before.Connected == nil || !*before.Connected {
		return true
	}
	return before.ExpiresAt == nil || now.ExpiresAt == nil || *before.ExpiresAt != *now.ExpiresAt
}
