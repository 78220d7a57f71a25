package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentmcp/agentmcp/client"
)

func auditCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{Use: "audit", Short: "Read the app's audit trail through the API"}
	o.flags(cmd)
	var q client.AuditOptions
	var follow bool
	var every time.Duration
	tail := &cobra.Command{
		Use:   "tail [--limit N] [--target T] [--action A] [--follow]",
		Short: "Print the latest audit events, oldest first; with --follow, keep printing new ones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			page, err := c.AuditEvents(cmd.Context(), q)
			if err != nil {
				return cliErr(err)
			}
			var last int64
			printEvents(out, page.Data, o.output == "json", true)
			if len(page.Data) > 0 {
				last = page.Data[0].Id
			}
			for follow {
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(every):
				}
				page, err := c.AuditEvents(cmd.Context(), client.AuditOptions{Limit: 100, Target: q.Target, Action: q.Action})
				if err != nil {
					return cliErr(err)
				}
				var fresh []client.AuditEvent
				for _, e := range page.Data {
					if e.Id > last {
						fresh = append(fresh, e)
					}
				}
				printEvents(out, fresh, o.output == "json", false)
				if len(fresh) > 0 {
					last = fresh[0].Id
				}
			}
			return nil
		},
	}
	tail.Flags().IntVar(&q.Limit, "limit", 20, "how many of the latest events to print first")
	tail.Flags().StringVar(&q.Target, "target", "", "only this target, e.g. mcp_server:weather")
	tail.Flags().StringVar(&q.Action, "action", "", "only this action, e.g. mcp_server.delete")
	tail.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events")
	tail.Flags().DurationVar(&every, "every", 2*time.Second, "with --follow, how often to look")
	cmd.AddCommand(tail)
	return cmd
}

// printEvents prints events (given newest first) oldest first: a table, or JSON lines.
func printEvents(w io.Writer, events []client.AuditEvent, asJSON, header bool) {
	events = slices.Clone(events)
	slices.Reverse(events)
	if asJSON {
		for _, e := range events {
			printJSON(w, e)
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if header {
		fmt.Fprintln(tw, "ID\tAT\tACTION\tTARGET\tKEY\tREQUEST")
	}
	for _, e := range events {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Id, millis(e.At), e.Action, e.Target, e.KeyId, e.RequestId)
	}
	tw.Flush()
}
