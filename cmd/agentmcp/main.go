// Command agentmcp serves the Agent Builder MCP servers API and administers its apps and keys.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

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
	root.AddCommand(serveCmd(), appsCmd(), keysCmd(), migrateCmd(), serversCmd(), agentsCmd(), auditCmd(), secretsCmd())
	return root
}

// envOr is the value of the environment variable name, or def.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// dbFlags adds the database flags to cmd and its subcommands.
func dbFlags(cmd *cobra.Command, o *dbOptions) {
	f := cmd.PersistentFlags()
	f.StringVar(&o.db, "db", envOr("AGENTMCP_DB", defaultDB),
		"database: a SQLite file path, or a postgres:// URL (env AGENTMCP_DB)")
	f.IntVar(&o.maxConns, "db-max-conns", envInt("AGENTMCP_DB_MAX_CONNS", 0),
		"PostgreSQL pool size (default max(4, CPUs)) (env AGENTMCP_DB_MAX_CONNS)")
	f.DurationVar(&o.statementTimeout, "db-statement-timeout", 10*time.Second,
		"PostgreSQL statement timeout")
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

const defaultDB = "./data/agentmcp.db"
