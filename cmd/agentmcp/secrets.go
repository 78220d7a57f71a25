package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/store/postgres"
)

// secretsFlags add --secrets-keeper (never shown as a default: a base64key URL is a key).
func secretsFlags(cmd *cobra.Command, keeper *string) { bind(cmd, []setting{secretsSetting(keeper)}) }

// localKeyFile is where a SQLite database's own keeper lives.
func localKeyFile(db string) string { return db + ".secrets-key" }

// keeperURL is the keeper to use: the flag, the environment, or (SQLite) the local key
// file, made when missing if create is set. "" means none (PostgreSQL without a keeper).
func keeperURL(o dbOptions, flag string, create bool, out io.Writer) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if v := os.Getenv("AGENTMCP_SECRETS_KEEPER"); v != "" {
		return v, nil
	}
	if postgres.IsURL(o.db) {
		return "", nil
	}
	path := localKeyFile(o.db)
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) || !create {
		return "", nil
	}
	var k [32]byte
	rand.Read(k[:])
	u := "base64key://" + base64.URLEncoding.EncodeToString(k[:])
	// Before the database is opened (app.New needs the keeper): make its directory as
	// SQLite would.
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", fmt.Errorf("write the local secrets key: %w", err)
	}
	if err := os.WriteFile(path, []byte(u+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write the local secrets key: %w", err)
	}
	fmt.Fprintf(out, "agentmcp: created a random local secrets key in %s (mode 0600); MCP server credentials are sealed with it: back it up with the database, or pass --secrets-keeper\n", path)
	return u, nil
}

func secretsCmd() *cobra.Command {
	var o dbOptions
	cmd := &cobra.Command{Use: "secrets", Short: "Manage the keys that seal MCP servers' credentials", Args: cobra.NoArgs}
	dbFlags(cmd, &o)
	var from, to, toFile string
	var finish bool
	rotate := &cobra.Command{
		Use:   "rotate --to-file NEW_KEEPER_FILE [--finish]",
		Short: "Re-seal every stored credential under a new data key wrapped by another keeper",
		Long: "Re-seals every credential, OAuth token and OAuth authorization in flight under a new data\n" +
			"key that the new keeper wraps. The new key is wrapped by the old keeper too, so replicas\n" +
			"still started with it keep working; once every\n" +
			"replica runs with --secrets-keeper set to the new keeper, run it again with --finish to drop\n" +
			"the old keeper's wraps. Give the new keeper with --to-file (keeps it out of shell history).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if toFile != "" {
				b, err := os.ReadFile(toFile)
				if err != nil {
					return err
				}
				to = strings.TrimSpace(string(b))
			}
			if to == "" {
				return usage(cmd, "--to-file (or --to) is required")
			}
			st, err := openExisting(ctx, o)
			if err != nil {
				return err
			}
			defer st.Close()
			cur, err := keeperURL(o, from, false, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			next, err := keyring.Open(ctx, st, to)
			if err != nil && !finish {
				// Secrets sealed under the old keeper are fine: the new ring only seals.
				next, err = keyring.OpenTarget(ctx, st, to)
			}
			if err != nil {
				return err
			}
			defer next.Close()
			if finish {
				n, err := keyring.Finish(ctx, next)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "dropped %d wraps of other keepers; only %s opens the credentials now\n", n, keyring.Hint(to))
				return nil
			}
			old, err := keyring.Open(ctx, st, cur)
			if err != nil {
				return err
			}
			defer old.Close()
			res, err := keyring.Rotate(ctx, old, next)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "re-sealed %d secrets (credentials, OAuth tokens and authorizations) under data key %s (wrapped by %s and, until --finish, by %s); dropped %d old data keys\n",
				res.Resealed, res.DataKey, keyring.Hint(to), keyring.Hint(cur), len(res.Dropped))
			return nil
		},
	}
	secretsFlags(rotate, &from)
	rotate.Flags().StringVar(&to, "to", "", "the new keeper URL (shell history keeps it: prefer --to-file)")
	rotate.Flags().StringVar(&toFile, "to-file", "", "a file holding the new keeper URL")
	rotate.Flags().BoolVar(&finish, "finish", false, "drop the wraps of every keeper but --to's")
	cmd.AddCommand(rotate)
	return cmd
}
