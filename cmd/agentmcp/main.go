// Command agentmcp serves the Agent Builder MCP servers API and administers its apps and keys.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := rootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "agentmcp:", err)
		var ec exitCoder
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}

// exitCoder lets an error choose the process exit code.
type exitCoder interface{ ExitCode() int }

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "agentmcp",
		Short:         "A self-hosted registry of MCP servers for AI agents (CometChat Agent Builder API)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCmd(), appsCmd(), keysCmd(), migrateCmd())
	return root
}

// envOr is the value of the environment variable name, or def.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// dbFlag adds --db (env AGENTMCP_DB) to cmd.
func dbFlag(cmd *cobra.Command, db *string) {
	cmd.PersistentFlags().StringVar(db, "db", envOr("AGENTMCP_DB", defaultDB),
		"database: a SQLite file path (env AGENTMCP_DB)")
}

const defaultDB = "./data/agentmcp.db"
