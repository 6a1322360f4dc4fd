// Command invoice-ingest is the service's one binary: serve, migrate, account and key
// administration, and the health check of its container. See usage for the subcommands, and
// docs/cli.md for the reference.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"invoice-ingest/config"
	"invoice-ingest/models"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// commands is the top level of the command line, in the order its help lists them.
var commands = []command{
	{"serve", "migrate the database, then serve HTTP and run recalculation workers", serveCommand},
	{"worker", "run recalculation workers only (the database must be migrated)", workerCommand},
	{"migrate", "create the database if missing and apply pending migrations", migrateCommand},
	{"accounts", "create and list accounts", accountsCommand},
	{"keys", "create, list and revoke API keys", keysCommand},
	{"recalc", "show the recalculation queue", recalcCommand},
	{"push", "push CSV, NDJSON or JSON files of rows to a running service", pushCommand},
	{"sync", "sync a billing system (stripe) into a running service", syncCommand},
	{"healthcheck", "exit 0 when the local service answers /readyz (for container health checks)", healthcheckCommand},
	{"version", "print the version and build information", versionCommand},
}

// usage is the top level's help: every subcommand with what it does.
func usage() string {
	var b bytes.Buffer
	b.WriteString("usage: invoice-ingest COMMAND [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-12s %s\n", c.name, c.summary)
	}
	b.WriteString(`  help CMD     print the help of a command

Run 'invoice-ingest help COMMAND' (or COMMAND --help) for a command's flags; a flag may be
written -flag or --flag. Exit status: 0 done, 1 the command failed (push, sync: some rows in
error), 2 a wrong command line, 3 push or sync gave up (the service kept failing).
Only serve and migrate create or migrate the database; every other command needs a migrated one.
Configuration comes from the environment: DATABASE_URL, HTTP_ADDR, INGEST_MAX_ROWS,
INGEST_MAX_BODY_BYTES, RECALC_WORKERS, LOG_LEVEL, DEBUG_ADDR (see docs/cli.md).
`)
	return b.String()
}

// exitCode reports err on stderr and returns the process's exit status: 2 tells a script its
// command line is wrong, 1 that the command itself failed.
func exitCode(err error, stderr io.Writer) int {
	var u usageError
	var m *models.Error
	var x exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &x):
		fmt.Fprintln(stderr, "invoice-ingest:", oneLine(x.msg))
		return x.code
	case errors.As(err, &u):
		fmt.Fprintln(stderr, "invoice-ingest:", u.msg)
		if u.usage == "" {
			u.usage = usage()
		}
		fmt.Fprint(stderr, u.usage)
		return 2
	case errors.As(err, &m):
		fmt.Fprintln(stderr, "invoice-ingest:", m.Message)
		return 1
	default:
		fmt.Fprintln(stderr, "invoice-ingest:", oneLine(err.Error()))
		return 1
	}
}

// oneLine joins the lines of a multi-line error (pgx lists each connection attempt on a line of
// its own) so that every failure is one line on stderr.
func oneLine(msg string) string {
	lines := strings.Split(msg, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, " ")
}

// run dispatches a subcommand. It never calls os.Exit, so tests can drive it.
func run(ctx context.Context, args []string, lookup config.Lookup, stdout, stderr io.Writer) error {
	err := runCommand(ctx, args, env{lookup: lookup, stdout: stdout, stderr: stderr})
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}

func runCommand(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return usageError{msg: "no command"}
	}
	cmd, rest := args[0], args[1:]
	switch {
	case cmd == "help" && len(rest) > 0: // help CMD [ACTION] is CMD [ACTION] --help
		return runCommand(ctx, append(rest[:len(rest):len(rest)], "--help"), e)
	case isHelp(cmd):
		fmt.Fprint(e.stdout, usage())
		return nil
	case cmd == "--version":
		return versionCommand(ctx, rest, e)
	}
	for _, c := range commands {
		if c.name == cmd {
			return c.run(ctx, rest, e)
		}
	}
	return usageError{msg: fmt.Sprintf("unknown command %q", cmd)}
}
