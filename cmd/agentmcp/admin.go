package main

import (
	"context"
	"fmt"
	"regexp"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentmcp/agentmcp/store"
)

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
			st, err := openStore(cmd.Context(), db, false)
			if err != nil {
				return err
			}
			defer st.Close()
			if _, err := st.CreateApp(cmd.Context(), id); err != nil {
				return err
			}
			k, secret := store.NewAPIKey(id, store.ScopeFullAccess)
			if err := st.CreateAPIKey(cmd.Context(), k); err != nil {
				return err
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
			st, err := openStore(cmd.Context(), db, false)
			if err != nil {
				return err
			}
			defer st.Close()
			apps, err := st.ListApps(cmd.Context())
			if err != nil {
				return err
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
	var app, scope, agent string
	create := &cobra.Command{
		Use:   "create --app APP_ID [--scope fullAccess|authOnly | --agent UID]",
		Short: "Create an API key and print it (it is stored only as a SHA-256 hash)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s := store.Scope(scope)
			if agent != "" {
				s = store.ScopeAgent
			}
			if !s.Valid() || (s == store.ScopeAgent && agent == "") {
				return fmt.Errorf("--scope %q: want fullAccess or authOnly (agent keys: --agent UID)", scope)
			}
			st, err := openStore(cmd.Context(), db, false)
			if err != nil {
				return err
			}
			defer st.Close()
			if agent != "" {
				if _, err := st.GetAgent(cmd.Context(), app, agent); err != nil {
					return fmt.Errorf("agent %q of app %q: %w", agent, app, err)
				}
			}
			k, secret := store.NewAPIKey(app, s)
			k.AgentUID = agent
			if err := st.CreateAPIKey(cmd.Context(), k); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created key %s (%s) for app %q; the key is shown only now:\n", k.ID, s, app)
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			return nil
		},
	}
	create.Flags().StringVar(&app, "app", "default", "the app the key belongs to")
	create.Flags().StringVar(&scope, "scope", string(store.ScopeFullAccess), "fullAccess (all operations) or authOnly (none of the MCP operations)")
	create.Flags().StringVar(&agent, "agent", "", "make an agent key: it can use this agent's MCP gateway and nothing else")

	var listApp string
	list := &cobra.Command{
		Use:   "list [--app APP_ID]",
		Short: "List API keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openStore(cmd.Context(), db, false)
			if err != nil {
				return err
			}
			defer st.Close()
			keys, err := st.ListAPIKeys(cmd.Context(), listApp)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tAPP\tSCOPE\tPREFIX\tCREATED\tREVOKED")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\t%s\n", k.ID, k.AppID, k.Scope, k.Prefix, millis(k.CreatedAt), millis(k.RevokedAt))
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
			st, err := openStore(cmd.Context(), db, false)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.RevokeAPIKey(cmd.Context(), args[0]); err != nil {
				return err
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
