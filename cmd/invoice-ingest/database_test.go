package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	neturl "net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"invoice-ingest/models/dbtest"
)

// commandsNeedingSchema are the commands that must neither create nor migrate a database.
var commandsNeedingSchema = [][]string{
	{"recalc", "status"}, {"accounts", "list"}, {"accounts", "create", "--name", "x"},
	{"keys", "list", "--account", "7e0d9a40-8b7b-4b7e-9c55-0d4f8e8b0a11"},
	{"keys", "revoke", "7e0d9a40-8b7b-4b7e-9c55-0d4f8e8b0a11"}, {"worker"},
}

// serverQuery runs one query on the test server's maintenance database.
func serverQuery(t *testing.T, url, sql string, args ...any) pgx.Row {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn.QueryRow(context.Background(), sql, args...)
}

// A command other than migrate and serve pointed at a database that does not exist stops with
// one line naming it (never the password) and saying what to run, and does not create it.
func TestMissingDatabaseIsNotCreated(t *testing.T) {
	t.Parallel()
	u, err := neturl.Parse(dbtest.ServerURL())
	require.NoError(t, err)
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "ii_test_missing_" + hex.EncodeToString(suffix)
	u.Path = "/" + name
	u.User = neturl.UserPassword(u.User.Username(), "s3cret-pw") // trust auth ignores it
	host := u.Hostname() + ":" + u.Port()
	for _, args := range commandsNeedingSchema {
		_, err := cli(t, u.String(), args...)
		require.EqualError(t, err, `database `+host+`/`+name+` does not exist: run "invoice-ingest migrate" first`, "%v", args)
	}
	var exists bool
	require.NoError(t, serverQuery(t, dbtest.ServerURL(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists))
	require.False(t, exists, "no command created it")

	// migrate does create it; then the others find it migrated.
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dbtest.ServerURL())
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			conn.Close(context.Background())
		}
	})
	_, err = cli(t, u.String(), "migrate")
	require.NoError(t, err)
	out, err := cli(t, u.String(), "accounts", "list")
	require.NoError(t, err)
	require.Empty(t, out)
}

// On an empty database (or one an older binary migrated) those commands say it is not migrated
// and leave it as it is.
func TestUnmigratedDatabaseIsNotMigrated(t *testing.T) {
	t.Parallel()
	url := dbtest.NewEmptyDatabase(t)
	u, err := neturl.Parse(url)
	require.NoError(t, err)
	desc := u.Host + u.Path // host:port/database
	for _, args := range commandsNeedingSchema {
		_, err := cli(t, url, args...)
		require.EqualError(t, err, `database `+desc+` is not migrated (it holds no schema): run "invoice-ingest migrate"`, "%v", args)
	}
	var table *string
	require.NoError(t, serverQuery(t, url, `SELECT to_regclass('goose_db_version')::text`).Scan(&table))
	require.Nil(t, table, "no command migrated it")

	behind := dbtest.NewDatabase(t)
	var version int
	require.NoError(t, serverQuery(t, behind, `DELETE FROM goose_db_version
		WHERE version_id = (SELECT max(version_id) FROM goose_db_version) RETURNING version_id`).Scan(&version))
	_, err = cli(t, behind, "recalc", "status")
	require.ErrorContains(t, err, "is not migrated (schema version ")
	require.ErrorContains(t, err, fmt.Sprintf(`, this binary needs %d): run "invoice-ingest migrate"`, version))
}

// A database that cannot be reached is one line on stderr naming it, never with the password.
func TestUnreachableDatabaseIsOneLine(t *testing.T) {
	t.Parallel()
	_, err := cli(t, "postgres://postgres:s3cret-pw@127.0.0.1:1/x", "accounts", "list")
	var stderr strings.Builder
	require.Equal(t, 1, exitCode(err, &stderr))
	require.True(t, strings.HasPrefix(stderr.String(), "invoice-ingest: cannot use database 127.0.0.1:1/x: "), stderr.String())
	require.Equal(t, 1, strings.Count(stderr.String(), "\n"), stderr.String())
	require.NotContains(t, stderr.String(), "s3cret-pw")
}
