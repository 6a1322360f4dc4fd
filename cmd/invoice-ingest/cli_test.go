package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// runOut runs the command with an empty environment and returns stdout and stderr.
func runOut(args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(string) (string, bool) { return "", false }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// Every command and action answers --help, -h and help CMD on stdout, with exit status 0 and
// without touching a database (the environment names none).
func TestEveryCommandAnswersHelp(t *testing.T) {
	t.Parallel()
	leaves := [][]string{
		{"serve"}, {"worker"}, {"migrate"}, {"healthcheck"}, {"version"},
		{"accounts", "create"}, {"accounts", "list"},
		{"keys", "create"}, {"keys", "list"}, {"keys", "revoke"}, {"recalc", "status"},
	}
	for _, cmd := range leaves {
		name := strings.Join(cmd, " ")
		for _, flag := range []string{"--help", "-h"} {
			out, errOut, err := runOut(append(cmd, flag)...)
			require.NoError(t, err, name)
			require.Empty(t, errOut, name)
			require.Contains(t, out, "usage: invoice-ingest "+name, name)
			require.Equal(t, 0, exitCode(err, &bytes.Buffer{}))
		}
		viaHelp, _, err := runOut(append([]string{"help"}, cmd...)...)
		require.NoError(t, err, name)
		direct, _, _ := runOut(append(cmd, "--help")...)
		require.Equal(t, direct, viaHelp, name)
	}
	for _, group := range []string{"accounts", "keys", "recalc"} {
		out, _, err := runOut(group, "--help")
		require.NoError(t, err)
		require.Contains(t, out, "usage: invoice-ingest "+group+" ACTION")
		viaHelp, _, err := runOut("help", group)
		require.NoError(t, err)
		require.Equal(t, out, viaHelp)
	}
	for _, top := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		out, _, err := runOut(top...)
		require.NoError(t, err)
		for _, c := range commands {
			require.Contains(t, out, "\n  "+c.name+" ")
		}
	}
	out, _, _ := runOut("serve", "--help")
	require.Contains(t, out, "-addr")
	require.Contains(t, out, "-demo-account")
}

// A wrong command line exits 2 with one line saying what is wrong, then the usage of the
// command it was meant for.
func TestUsageErrorShowsRelevantUsage(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]string{
		"keys create":           "usage: invoice-ingest keys create --account ID",
		"keys twist":            "usage: invoice-ingest keys ACTION",
		"serve --nope":          "usage: invoice-ingest serve [--addr HOST:PORT]",
		"recalc status --limit": "usage: invoice-ingest recalc status [--limit N]",
		"bogus":                 "usage: invoice-ingest COMMAND",
	} {
		_, _, err := runOut(strings.Fields(args)...)
		var stderr bytes.Buffer
		require.Equal(t, 2, exitCode(err, &stderr), args)
		first, rest, _ := strings.Cut(stderr.String(), "\n")
		require.True(t, strings.HasPrefix(first, "invoice-ingest: "), first)
		require.True(t, strings.HasPrefix(rest, want), "%s: %s", args, rest)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	out, _, err := runOut("version")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, "invoice-ingest "), out)
	require.Contains(t, out, "\ngo: go1.")
	alias, _, err := runOut("--version")
	require.NoError(t, err)
	require.Equal(t, out, alias)
}
