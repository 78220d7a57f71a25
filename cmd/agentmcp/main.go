// Command agentmcp serves the Agent Builder MCP servers API and administers its apps and keys.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, rootCmd(), os.Stderr)
	stop()
	os.Exit(code)
}

// run executes root and prints its error, once prefixed, to stderr; it returns the exit code.
func run(ctx context.Context, root *cobra.Command, stderr io.Writer) int {
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	// Errors of the client package carry the prefix already.
	fmt.Fprintln(stderr, "agentmcp: "+strings.TrimPrefix(err.Error(), "agentmcp: "))
	if hint := apiURLHint(cmd, err); hint != "" {
		fmt.Fprintln(stderr, hint)
	}
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return exitOther
}

// exitCoder lets an error choose the process exit code.
type exitCoder interface{ ExitCode() int }

// exitUsage is the exit code of a command line that is wrong: unknown command or flag, wrong
// arguments, missing or contradicting flags.
const exitUsage = 2

// usageError is a wrong command line; it says where to read how to write it.
type usageError struct {
	err error
	cmd *cobra.Command
}

func (e usageError) Error() string {
	return fmt.Sprintf("%v\nrun '%s --help' for usage", e.err, e.cmd.CommandPath())
}
func (e usageError) Unwrap() error { return e.err }
func (usageError) ExitCode() int   { return exitUsage }

func usage(cmd *cobra.Command, format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...), cmd}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "agentmcp",
		Short:         "A self-hosted registry of MCP servers for AI agents (CometChat Agent Builder API)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, mk := range []func() *cobra.Command{serveCmd, appsCmd, keysCmd, migrateCmd, serversCmd, agentsCmd, auditCmd, secretsCmd} {
		root.AddCommand(mk())
	}
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := applyEnv(cmd); err != nil {
			return usageError{err, cmd}
		}
		// Checked here rather than by cobra, so that the error is a usage error.
		if err := cmd.ValidateRequiredFlags(); err != nil {
			return usageError{err, cmd}
		}
		if err := cmd.ValidateFlagGroups(); err != nil {
			return usageError{err, cmd}
		}
		return nil
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{err, cmd} })
	root.SetHelpCommand(helpCmd())
	root.InitDefaultCompletionCmd()
	// A command with subcommands is runnable only to refuse unknown ones: its usage shows
	// only "[command]".
	root.SetUsageTemplate(strings.Replace(root.UsageTemplate(), "{{if .Runnable}}", "{{if and .Runnable (not .HasAvailableSubCommands)}}", 1))
	strict(root)
	return root
}

// strict makes every command refuse what it does not know: a group an unknown subcommand
// (cobra prints its help and exits 0), and a command the wrong arguments, both as usage errors.
func strict(c *cobra.Command) {
	for _, sub := range c.Commands() {
		strict(sub)
	}
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Args = cobra.ArbitraryArgs
		c.SuggestionsMinimumDistance = 2 // cobra defaults it on the root only
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownCommand(cmd, args[0])
		}
		return
	}
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return usageError{err, cmd}
			}
			return nil
		}
	}
}

func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		for i := range s {
			s[i] = strconv.Quote(s[i])
		}
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError{errors.New(msg), cmd}
}

// helpCmd is cobra's help command, except that an unknown topic is an error.
func helpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil {
				return usageError{err, c}
			}
			if len(rest) > 0 {
				return unknownCommand(cmd, rest[0])
			}
			return cmd.Help()
		},
	}
}

// envAnnotation names the environment variable a flag falls back to.
const envAnnotation = "agentmcp-env"

// fromEnv makes the flag name of fs fall back to the environment variable env when it is
// not given. The variable's value is read only when a command runs, so it is never shown as
// the flag's default in --help (it may be a secret, like an API key or a database URL).
func fromEnv(fs *pflag.FlagSet, name, env string) {
	if err := fs.SetAnnotation(name, envAnnotation, []string{env}); err != nil {
		panic(err) // a flag that does not exist: a programming error
	}
}

// applyEnv sets every flag of cmd that was not given from its environment variable, also
// the persistent flags of its parents that a flag of cmd shadows (servers create --url).
func applyEnv(cmd *cobra.Command) error {
	var errs []error
	seen := map[*pflag.Flag]bool{}
	visit := func(f *pflag.Flag) {
		env := f.Annotations[envAnnotation]
		if seen[f] || f.Changed || len(env) == 0 {
			return
		}
		seen[f] = true
		v, ok := os.LookupEnv(env[0])
		if !ok {
			return
		}
		// Value.Set, not FlagSet.Set: Changed keeps meaning "given on the command line".
		if err := f.Value.Set(v); err != nil {
			want, ok := map[string]string{"int": "an integer", "float64": "a number", "bool": "true or false", "duration": "a duration such as 10s"}[f.Value.Type()]
			if !ok {
				want = f.Value.Type()
			}
			errs = append(errs, fmt.Errorf("environment variable %s (for --%s): want %s, got %q", env[0], f.Name, want, v))
		}
	}
	cmd.Flags().VisitAll(visit)
	for p := cmd; p != nil; p = p.Parent() {
		p.PersistentFlags().VisitAll(visit)
	}
	return errors.Join(errs...)
}

// dbFlags adds the database flags to cmd and its subcommands.
func dbFlags(cmd *cobra.Command, o *dbOptions) { bind(cmd, dbSettings(o)) }

const defaultDB = "./data/agentmcp.db"
