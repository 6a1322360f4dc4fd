// Command invoice-ingest is the service's one binary: serve, migrate, and account and key
// administration. See usage for the subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

const usage = `usage:
  invoice-ingest serve [--addr HOST:PORT] [--demo-account]
  invoice-ingest worker
  invoice-ingest migrate
  invoice-ingest accounts create --name NAME
  invoice-ingest keys create --account ID [--scopes data:read,data:write]
  invoice-ingest keys revoke KEY_ID
  invoice-ingest recalc status [--limit N]
Configuration comes from the environment: DATABASE_URL, HTTP_ADDR, INGEST_MAX_ROWS,
INGEST_MAX_BODY_BYTES, RECALC_WORKERS, LOG_LEVEL (see README).
`

// usageError means the command line was wrong: exit 2 with the usage.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// exitCode reports err on stderr and returns the process's exit status: 2 tells a script its
// command line is wrong, 1 that the command itself failed.
func exitCode(err error, stderr io.Writer) int {
	var u usageError
	switch {
	case errors.As(err, &u):
		fmt.Fprintln(stderr, "invoice-ingest:", u.msg)
		fmt.Fprint(stderr, usage)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "invoice-ingest:", err)
		return 1
	}
	return 0
}

// run dispatches a subcommand. It never calls os.Exit, so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"no subcommand"}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr, true)
	case "worker":
		return serve(ctx, rest, getenv, stdout, stderr, false)
	case "migrate":
		return migrate(ctx, rest, getenv)
	case "accounts":
		return accounts(ctx, rest, getenv, stdout)
	case "keys":
		return keys(ctx, rest, getenv, stdout)
	case "recalc":
		return recalcStatus(ctx, rest, getenv, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return usageError{fmt.Sprintf("unknown subcommand %q", cmd)}
	}
}
