package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/postgres"
)

// noDatabase is a database command run where its SQLite file does not exist: only serve
// and migrate up create one, so that a command run outside the clone does not make an
// empty database and then report that nothing is in it.
type noDatabase struct{ db string }

func (e noDatabase) Error() string {
	return fmt.Sprintf("no database at %s: run this where `agentmcp serve` runs (the default is ./data/agentmcp.db, relative to the current directory), "+
		"pass --db (env AGENTMCP_DB), or create it with `agentmcp migrate up --db …`", e.db)
}
func (noDatabase) ExitCode() int { return exitNotFound }

// dbFailure is a store error of a database command: its exit code by kind, and the
// database named in a "not found", since a command run elsewhere reads another file.
type dbFailure struct {
	err error
	db  string
}

func (e dbFailure) Error() string {
	if errors.Is(e.err, store.ErrNotFound) {
		return fmt.Sprintf("%v (in the database %s)", e.err, e.db)
	}
	return e.err.Error()
}
func (e dbFailure) Unwrap() error { return e.err }
func (e dbFailure) ExitCode() int {
	switch {
	case errors.Is(e.err, store.ErrNotFound):
		return exitNotFound
	case errors.Is(e.err, store.ErrConflict):
		return exitConflict
	}
	return exitOther
}

// dbErr gives err, from the database o names, its exit code (nil stays nil).
func dbErr(o dbOptions, err error) error {
	if err == nil {
		return nil
	}
	return dbFailure{err, dbName(o.db)}
}

// dbName is the database as messages name it: a SQLite file by its absolute path, a
// PostgreSQL URL without its password.
func dbName(db string) string {
	if postgres.IsURL(db) {
		return redactURL(db)
	}
	if abs, err := filepath.Abs(db); err == nil {
		return abs
	}
	return db
}

// openExisting opens the database of a command that administers it, and never creates one.
func openExisting(ctx context.Context, o dbOptions) (backend, error) {
	if err := mustExist(o); err != nil {
		return nil, err
	}
	return openStore(ctx, o, false)
}

// mustExist refuses a SQLite file that is not there (PostgreSQL never makes a database).
func mustExist(o dbOptions) error {
	if postgres.IsURL(o.db) {
		return nil
	}
	if _, err := os.Stat(o.db); errors.Is(err, os.ErrNotExist) {
		return noDatabase{dbName(o.db)}
	}
	return nil
}

var appIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$`)

func appsCmd() *cobra.Command {
	var db dbOptions
	cmd := &cobra.Command{Use: "apps", Short: "Manage apps (tenants); works on the database directly"}
	dbFlags(cmd, &db)
	create := &cobra.Command{
		Use:   "create APP_ID",
		Short: "Create an app and print a new fullAccess API key for it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if !appIDPattern.MatchString(id) {
				return fmt.Errorf("app id %q: want 1-100 letters, digits, '-' or '_', starting with a letter or digit", id)
			}
			st, err := openExisting(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			if _, err := st.CreateApp(cmd.Context(), id); err != nil {
				return dbErr(db, err)
			}
			k, secret := store.NewAPIKey(id, store.ScopeFullAccess)
			if err := st.CreateAPIKey(cmd.Context(), k); err != nil {
				return dbErr(db, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created app %q and key %s (fullAccess); the key is shown only now:\n", id, k.ID)
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List apps",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openExisting(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			apps, err := st.ListApps(cmd.Context())
			if err != nil {
				return dbErr(db, err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "APP\tCREATED")
			for _, a := range apps {
				fmt.Fprintf(tw, "%s\t%s\n", a.ID, millis(a.CreatedAt))
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(create, list, appsRegistryCmd(&db))
	return cmd
}

func millis(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}

func keysCmd() *cobra.Command {
	var db dbOptions
	cmd := &cobra.Command{Use: "keys", Short: "Manage API keys; works on the database directly"}
	dbFlags(cmd, &db)
	var app, scope, agent, name string
	create := &cobra.Command{
		Use:   "create --app APP_ID [--scope fullAccess|authOnly | --agent UID] [--name NAME]",
		Short: "Create an API key and print it (it is stored only as a SHA-256 hash)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s := store.Scope(scope)
			if agent != "" {
				s = store.ScopeAgent
			}
			if !s.Valid() || (s == store.ScopeAgent && agent == "") {
				return usage(cmd, "--scope %q: want fullAccess or authOnly (agent keys: --agent UID)", scope)
			}
			if len(name) > 100 {
				return usage(cmd, "--name: at most 100 characters")
			}
			st, err := openExisting(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			if agent != "" {
				if _, err := st.GetAgent(cmd.Context(), app, agent); err != nil {
					return dbErr(db, fmt.Errorf("app %q: %w", app, err))
				}
			}
			k, secret := store.NewAPIKey(app, s)
			k.AgentUID, k.Name = agent, name
			if err := st.CreateAPIKey(cmd.Context(), k); err != nil {
				return dbErr(db, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created key %s (%s) for app %q; the key is shown only now:\n", k.ID, s, app)
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			return nil
		},
	}
	create.Flags().StringVar(&app, "app", "default", "the app the key belongs to")
	create.Flags().StringVar(&scope, "scope", string(store.ScopeFullAccess), "fullAccess (all operations) or authOnly (none of the MCP operations)")
	create.Flags().StringVar(&agent, "agent", "", "make an agent key: it can use this agent's MCP gateway and nothing else")
	create.Flags().StringVar(&name, "name", "", "what the key is for (keys list and the console show it)")
	create.MarkFlagsMutuallyExclusive("scope", "agent") // an agent key's scope is its agent

	var listApp string
	list := &cobra.Command{
		Use:   "list [--app APP_ID]",
		Short: "List API keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openExisting(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			keys, err := st.ListAPIKeys(cmd.Context(), listApp)
			if err != nil {
				return dbErr(db, err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tAPP\tSCOPE\tNAME\tPREFIX\tCREATED\tREVOKED")
			for _, k := range keys {
				scope, name := string(k.Scope), k.Name
				if k.AgentUID != "" {
					scope += ":" + k.AgentUID
				}
				if name == "" {
					name = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s…\t%s\t%s\n", k.ID, k.AppID, scope, name, k.Prefix, millis(k.CreatedAt), millis(k.RevokedAt))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&listApp, "app", "", "only this app's keys")

	revoke := &cobra.Command{
		Use:   "revoke KEY_ID",
		Short: "Revoke an API key; a running server stops accepting it within its key cache TTL (default 10s)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openExisting(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.RevokeAPIKey(cmd.Context(), args[0]); err != nil {
				return dbErr(db, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func migrateCmd() *cobra.Command {
	var db dbOptions
	cmd := &cobra.Command{Use: "migrate", Short: "Database schema migrations"}
	dbFlags(cmd, &db)
	up := &cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			applied, err := migrateUp(cmd.Context(), db)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, m := range applied {
				fmt.Fprintf(out, "applied %04d_%s\n", m.Version, m.Name)
			}
			if len(applied) == 0 {
				fmt.Fprintln(out, "database is up to date: no migration to apply")
			} else {
				fmt.Fprintf(out, "applied %d %s; the database is up to date\n", len(applied), plural(len(applied), "migration"))
			}
			return nil
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Show which migrations are applied",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := mustExist(db); err != nil {
				return err
			}
			st, err := db.open(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer st.Close()
			ms, err := st.MigrationStatus(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
			for _, m := range ms {
				fmt.Fprintf(tw, "%04d\t%s\t%s\n", m.Version, m.Name, millis(m.AppliedAt))
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(up, status)
	return cmd
}

// migrateUp applies the pending migrations and returns those it applied: the difference of
// the status before and after (the store's Open migrates and does not say what it did).
func migrateUp(ctx context.Context, db dbOptions) ([]store.MigrationStatus, error) {
	before, err := migrationStatus(ctx, db, true)
	if err != nil {
		return nil, err
	}
	after, err := migrationStatus(ctx, db, false)
	if err != nil {
		return nil, err
	}
	var applied []store.MigrationStatus
	for i, m := range after {
		if m.Applied && (i >= len(before) || !before[i].Applied) {
			applied = append(applied, m)
		}
	}
	return applied, nil
}

func migrationStatus(ctx context.Context, db dbOptions, noMigrate bool) ([]store.MigrationStatus, error) {
	st, err := db.open(ctx, noMigrate)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.MigrationStatus(ctx)
}
