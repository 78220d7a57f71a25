package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// appsRegistryCmd switches an app's read-only MCP Registry view (issue 16).
func appsRegistryCmd(db *dbOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "registry APP_ID [on|off]",
		Short: "Show, or turn on or off, the app's MCP Registry view for editors (off by default)",
		Long: `Show, or turn on or off, the app's MCP Registry view: read-only and without a key at
{server}/registry/APP_ID, the base URL to give VS Code's chat.mcp.gallery.serviceUrl. It lists
the app's MCP servers and agents (names, URLs, the names of credential headers; never a
secret). A running server sees the change at its next request.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			app := args[0]
			set := len(args) == 2
			if set && args[1] != "on" && args[1] != "off" {
				return usage(cmd, "%q: want on or off", args[1])
			}
			st, err := openExisting(cmd.Context(), *db)
			if err != nil {
				return err
			}
			defer st.Close()
			if set {
				if err := st.SetRegistry(cmd.Context(), app, args[1] == "on"); err != nil {
					return dbErr(*db, fmt.Errorf("app %q: %w", app, err))
				}
			}
			on, err := st.RegistryEnabled(cmd.Context(), app)
			if err != nil {
				return dbErr(*db, fmt.Errorf("app %q: %w", app, err))
			}
			if on {
				fmt.Fprintf(cmd.OutOrStdout(), "registry of app %q: on, at {server}/registry/%s\n", app, app)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "registry of app %q: off\n", app)
			}
			return nil
		},
	}
}
