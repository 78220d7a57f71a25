package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/gen"
)

func printAgent(w io.Writer, a *client.Agent) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"uid", a.Uid}, {"name", a.Name}, {"description", a.Description}, {"instruction", a.Instruction},
		{"model", a.Model}, {"active", fmt.Sprint(a.IsActive)}, {"mcpServers", strings.Join(a.McpServers, ", ")},
		{"toolNames", string(a.Gateway.ToolNames)}, {"pinning", string(a.Gateway.Pinning)},
		{"created", millis(a.CreatedAt)}, {"updated", millis(a.UpdatedAt)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	return tw.Flush()
}

func agentTable(w io.Writer, agents []client.Agent) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "UID\tNAME\tMCP SERVERS\tUPDATED")
	for _, a := range agents {
		servers := strings.Join(a.McpServers, ",")
		if servers == "" {
			servers = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Uid, a.Name, servers, millis(a.UpdatedAt))
	}
	return tw.Flush()
}

// agentFields are the agent fields the CLI sets, as flags.
type agentFields struct {
	name, instruction, description, icon, model string
	toolNames, pinning                          string
	active                                      bool
	mcp                                         []string
	allow, rename                               []string
}

func (f *agentFields) add(cmd *cobra.Command, verb string) {
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", verb+" name")
	fl.StringVar(&f.instruction, "instruction", "", verb+" instruction (the system prompt)")
	fl.StringVar(&f.description, "description", "", verb+" description")
	fl.StringVar(&f.icon, "icon", "", verb+" icon URL")
	fl.StringVar(&f.model, "model", "", verb+" model, e.g. gpt-4o-mini")
	fl.BoolVar(&f.active, "active", true, "whether the agent is active")
	fl.StringSliceVar(&f.mcp, "mcp", nil, "slugs of the MCP servers attached, comma-separated (replaces the list; \"\" for none)")
	fl.StringVar(&f.pinning, "pinning", "", "what the gateway does with a tool whose definition changed since it was pinned (or is new): enforce (withhold until approved, the default), warn (serve and record) or off")
	fl.StringVar(&f.toolNames, "tool-names", "", "how the agent's MCP gateway names tools: prefixed ({slug}__{tool}, the default) or original (the servers' own names; attaches whose tools share a name are refused)")
	fl.StringArrayVar(&f.allow, "allow", nil, "SLUG=TOOL,TOOL: the only tools of that server the agent gets (repeatable; with --rename, replaces the agent's whole tool policy)")
	fl.StringArrayVar(&f.rename, "rename", nil, "SLUG:TOOL=NEW: serve that tool under another name (repeatable; with --allow, replaces the agent's whole tool policy)")
}

// policy sets p's tool policy from --allow and --rename, when given.
func (f *agentFields) policy(cmd *cobra.Command, p *client.UpdateAgent) error {
	if !cmd.Flags().Changed("allow") && !cmd.Flags().Changed("rename") {
		return nil
	}
	servers, err := f.servers(cmd)
	if err != nil {
		return err
	}
	p.Gateway.Servers = &servers
	return nil
}

// servers is the tool policy --allow and --rename give, or a usage error.
func (f *agentFields) servers(cmd *cobra.Command) (gen.GatewayServers, error) {
	out := gen.GatewayServers{}
	for _, a := range f.allow {
		slug, tools, ok := strings.Cut(a, "=")
		if !ok || slug == "" {
			return nil, usage(cmd, "--allow takes SLUG=TOOL,TOOL, not %q", a)
		}
		pol := out[slug]
		names := []string{}
		for t := range strings.SplitSeq(tools, ",") {
			if t = strings.TrimSpace(t); t != "" {
				names = append(names, t)
			}
		}
		pol.Allow = &names
		out[slug] = pol
	}
	for _, r := range f.rename {
		from, to, ok := strings.Cut(r, "=")
		slug, tool, ok2 := strings.Cut(from, ":")
		if !ok || !ok2 || slug == "" || tool == "" || to == "" {
			return nil, usage(cmd, "--rename takes SLUG:TOOL=NEW, not %q", r)
		}
		pol := out[slug]
		if pol.Rename == nil {
			pol.Rename = map[string]string{}
		}
		pol.Rename[tool] = to
		out[slug] = pol
	}
	return out, nil
}

// patch has a field for each flag given, pointing at its value.
func (f *agentFields) patch(cmd *cobra.Command) client.UpdateAgent {
	var p client.UpdateAgent
	given := cmd.Flags().Changed
	if given("name") {
		p.Name = &f.name
	}
	if given("instruction") {
		p.Instruction = &f.instruction
	}
	if given("description") {
		p.Description = &f.description
	}
	if given("icon") {
		p.Icon = &f.icon
	}
	if given("model") {
		p.Model = &f.model
	}
	if given("active") {
		p.IsActive = &f.active
	}
	if given("mcp") {
		p.McpServers = &f.mcp
	}
	if given("tool-names") || given("pinning") || given("allow") || given("rename") {
		p.Gateway = &client.AgentGatewayInput{}
	}
	if given("tool-names") {
		p.Gateway.ToolNames = (*client.ToolNames)(&f.toolNames)
	}
	if given("pinning") {
		p.Gateway.Pinning = (*gen.Pinning)(&f.pinning)
	}
	return p
}

// checkToolNames refuses a --tool-names the API does not know before any request.
func (f *agentFields) checkToolNames(cmd *cobra.Command) error {
	if cmd.Flags().Changed("pinning") && !gen.Pinning(f.pinning).Valid() {
		return usage(cmd, "--pinning must be enforce, warn or off, not %q", f.pinning)
	}
	if !cmd.Flags().Changed("tool-names") || client.ToolNames(f.toolNames).Valid() {
		return nil
	}
	return usage(cmd, "--tool-names must be %s or %s, not %q", client.ToolNamesPrefixed, client.ToolNamesOriginal, f.toolNames)
}

// printToolChanges prints each change with its hash and the lines of its definition that
// differ (- approved, + offered).
func printToolChanges(w io.Writer, changes []client.ToolChange) error {
	if len(changes) == 0 {
		_, err := fmt.Fprintln(w, "no tool changes")
		return err
	}
	for _, ch := range changes {
		fmt.Fprintf(w, "%s %s %s/%s  %s", ch.Status, ch.Kind, ch.Server, ch.Name, ch.Hash)
		if len(ch.Flags) > 0 {
			fmt.Fprintf(w, "  flags: %v", ch.Flags)
		}
		fmt.Fprintln(w)
		before, after := definitionLines(ch.Before), definitionLines(ch.After)
		for _, l := range before {
			if !slices.Contains(after, l) {
				fmt.Fprintf(w, "  - %s\n", l)
			}
		}
		for _, l := range after {
			if !slices.Contains(before, l) {
				fmt.Fprintf(w, "  + %s\n", l)
			}
		}
	}
	return nil
}

// definitionLines is a definition as key: value lines (nested values as compact JSON).
func definitionLines(def map[string]any) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(def)) {
		v := def[k]
		if s, ok := v.(string); ok {
			out = append(out, k+": "+s)
			continue
		}
		b, _ := json.Marshal(v)
		out = append(out, k+": "+string(b))
	}
	return out
}

func agentsCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{Use: "agents", Short: "Manage agents and the MCP servers attached to them through the API"}
	o.flags(cmd)
	show := func(cmd *cobra.Command, a *client.Agent) error {
		if o.output == "json" {
			return printJSON(cmd.OutOrStdout(), a)
		}
		return printAgent(cmd.OutOrStdout(), a)
	}

	var lf listFlags
	list := &cobra.Command{
		Use:   "list [--all] [--limit N]",
		Short: "List agents, newest first (one page, or --all of them)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := lf.check(cmd); err != nil {
				return err
			}
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !lf.all {
				page, err := c.ListAgents(cmd.Context(), client.ListOptions{Limit: lf.limit})
				if err != nil {
					return cliErr(err)
				}
				if o.output == "json" {
					return printJSON(out, page)
				}
				if err := agentTable(out, page.Data); err != nil {
					return err
				}
				return moreHint(cmd, page.Data, page.Meta, func(n client.ListOptions) (int, error) {
					p, err := c.ListAgents(cmd.Context(), n)
					if err != nil {
						return 0, err
					}
					return len(p.Data), nil
				}, "agents")
			}
			agents := []client.Agent{}
			for a, err := range c.AllAgents(cmd.Context(), lf.limit) {
				if err != nil {
					return cliErr(err)
				}
				agents = append(agents, a)
			}
			if o.output == "json" {
				return printJSON(out, agents)
			}
			return agentTable(out, agents)
		},
	}
	lf.add(list, "agent")

	get := &cobra.Command{
		Use:   "get UID",
		Short: "Show an agent",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			a, err := c.GetAgent(cmd.Context(), args[0])
			if err != nil {
				return cliErr(err)
			}
			return show(cmd, a)
		},
	}

	var in agentFields
	var uid string
	create := &cobra.Command{
		Use:   "create --name NAME [--uid UID] [--instruction TEXT] [--mcp SLUG,...] [--tool-names original|prefixed] [--pinning P] [--allow SLUG=TOOL,...] [--rename SLUG:TOOL=NEW]",
		Short: "Create an agent (without --uid the server makes one up)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := in.checkToolNames(cmd); err != nil {
				return err
			}
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			req := client.CreateAgent{Name: in.name}
			if cmd.Flags().Changed("uid") {
				req.Uid = &uid
			}
			p := in.patch(cmd)
			if err := in.policy(cmd, &p); err != nil {
				return err
			}
			req.Instruction, req.Description, req.Icon, req.Model, req.IsActive, req.McpServers = p.Instruction, p.Description, p.Icon, p.Model, p.IsActive, p.McpServers
			req.Gateway = p.Gateway
			a, err := c.CreateAgent(cmd.Context(), req)
			if err != nil {
				return cliErr(err)
			}
			return show(cmd, a)
		},
	}
	in.add(create, "the")
	create.Flags().StringVar(&uid, "uid", "", "unique, URL-safe id in the app")
	create.MarkFlagRequired("name")

	var up agentFields
	update := &cobra.Command{
		Use:   "update UID [--name NAME] [--instruction TEXT] [--description TEXT] [--icon URL] [--model M] [--active=false] [--mcp SLUG,...] [--tool-names original|prefixed] [--pinning P] [--allow SLUG=TOOL,...] [--rename SLUG:TOOL=NEW]",
		Short: "Change an agent; only the flags given change",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := up.patch(cmd)
			if p == (client.UpdateAgent{}) {
				return usage(cmd, "nothing to change: give at least one of --name, --instruction, --description, --icon, --model, --active, --mcp, --tool-names, --pinning, --allow, --rename")
			}
			if err := up.policy(cmd, &p); err != nil {
				return err
			}
			if err := up.checkToolNames(cmd); err != nil {
				return err
			}
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			a, err := c.UpdateAgent(cmd.Context(), args[0], p)
			if err != nil {
				return cliErr(err)
			}
			return show(cmd, a)
		},
	}
	up.add(update, "new")

	del := &cobra.Command{
		Use:   "delete UID",
		Short: "Delete an agent",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			if err := c.DeleteAgent(cmd.Context(), args[0]); err != nil {
				return cliErr(err)
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), map[string]any{"success": true, "message": "Agent deleted successfully"})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	}

	manage := func(use, short string, add bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " UID SLUG...",
			Short: short,
			Args:  cobra.MinimumNArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := o.client(cmd)
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
				return show(cmd, a)
			},
		}
	}
	changes := &cobra.Command{
		Use:   "tool-changes UID",
		Short: "List the agent's tool definitions that changed since pinned (or are new), with their hashes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			ch, err := c.ListToolChanges(cmd.Context(), args[0])
			if err != nil {
				return cliErr(err)
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), ch)
			}
			return printToolChanges(cmd.OutOrStdout(), ch)
		},
	}
	decide := func(use, short string, approve bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " UID HASH",
			Short: short,
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := o.client(cmd)
				if err != nil {
					return err
				}
				ch, err := c.DecideToolChange(cmd.Context(), args[0], args[1], approve)
				if err != nil {
					return cliErr(err)
				}
				if o.output == "json" {
					return printJSON(cmd.OutOrStdout(), ch)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s/%s (%s)\n", ch.Status, ch.Kind, ch.Server, ch.Name, ch.Hash)
				return nil
			},
		}
	}
	cmd.AddCommand(changes,
		decide("approve", "Approve the tool change pending under HASH (refused when the server offers another definition now)", true),
		decide("reject", "Reject the tool change pending under HASH: it stays withheld under pinning enforce", false))
	cmd.AddCommand(list, get, create, update, del,
		manage("attach", "Attach MCP servers (by slug) to an agent", true),
		manage("detach", "Detach MCP servers from an agent", false))
	return cmd
}
