package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"invoice-ingest/config"
	"io"
	"strings"
)

// env is what a subcommand takes from the process: its environment and its output streams.
type env struct {
	lookup         config.Lookup
	stdout, stderr io.Writer
	hooks          *clientHooks // push and sync: what tests replace; nil: the real ones
}

// command is one entry of a command table: the top level (serve, migrate, ...) or the actions of
// a group (accounts create, accounts list, ...).
type command struct {
	name    string
	summary string // one line, shown in the table's help
	run     func(ctx context.Context, args []string, e env) error
}

// usageError means the command line was wrong: exit 2 with the message and the usage of the
// command it was meant for (the top level's when usage is empty).
type usageError struct{ msg, usage string }

func (u usageError) Error() string { return u.msg }

// errHelpShown tells run that a --help was answered: the command ends there, successfully.
var errHelpShown = errors.New("help shown")

// isHelp reports whether arg asks for help the way the flag package understands it.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "--h", "-help", "--help", "help":
		return true
	}
	return false
}

// dispatch runs the action of table named by args[0]; group is its prefix ("accounts") and
// about what the group does, for its help.
func dispatch(ctx context.Context, group, about string, table []command, args []string, e env) error {
	if len(args) == 0 {
		return usageError{fmt.Sprintf("%s: expected an action: %s", group, names(table)), tableUsage(group, table)}
	}
	if isHelp(args[0]) {
		fmt.Fprintf(e.stdout, "%s\n\n%s", about, tableUsage(group, table))
		return errHelpShown
	}
	for _, c := range table {
		if c.name == args[0] {
			return c.run(ctx, args[1:], e)
		}
	}
	return usageError{fmt.Sprintf("%s: unknown action %q", group, args[0]), tableUsage(group, table)}
}

// names lists a table's names for messages: "create, list or revoke".
func names(table []command) string {
	var s []string
	for _, c := range table {
		s = append(s, c.name)
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// tableUsage is the usage of a group: its actions and a summary of each.
func tableUsage(group string, table []command) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "usage: invoice-ingest %s ACTION [flags]\n\nactions:\n", group)
	for _, c := range table {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(&b, "\nRun 'invoice-ingest %s ACTION --help' for an action's flags.\n", group)
	return b.String()
}

// flags is a leaf command's flag set, which knows the command's synopsis and description so that
// it can answer --help and word usage errors.
type flags struct {
	*flag.FlagSet
	synopsis string // after the command's name: "--name NAME"
	about    string // what the command does, one or more lines
}

// newFlags returns a flag set whose errors become usage errors instead of exiting.
func newFlags(name, synopsis, about string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flags{FlagSet: fs, synopsis: synopsis, about: about}
}

// parse parses args; on --help it prints the command's help to stdout and returns errHelpShown.
func (f *flags) parse(args []string, stdout io.Writer) error {
	err := f.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "%s\n\n%s", strings.TrimSpace(f.about), f.usage())
		return errHelpShown
	}
	if err != nil {
		return f.fail("%v", err)
	}
	return nil
}

// noArgs parses args for a command that takes flags only.
func (f *flags) noArgs(args []string, stdout io.Writer) error {
	if err := f.parse(args, stdout); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return f.fail("unexpected argument %q", f.Arg(0))
	}
	return nil
}

// fail returns a usage error of this command.
func (f *flags) fail(format string, args ...any) error {
	return usageError{f.Name() + ": " + fmt.Sprintf(format, args...), f.usage()}
}

// usage is the command's synopsis and its flags with their defaults.
func (f *flags) usage() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "usage: %s\n", strings.TrimSpace("invoice-ingest "+f.Name()+" "+f.synopsis))
	n := 0
	f.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		b.WriteString("\nflags:\n")
		f.SetOutput(&b)
		f.PrintDefaults()
		f.SetOutput(io.Discard)
	}
	return b.String()
}
