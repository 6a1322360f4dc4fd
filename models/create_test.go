package models_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	neturl "net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// A role that owns its database but may not connect to the maintenance database (as on managed
// PostgreSQL or behind PgBouncer) can still start: EnsureDatabase connects to the named database
// first. A missing database is created through the maintenance database, and when that is
// refused, the error says so and names host and database, never the password.
func TestEnsureDatabaseWithoutMaintenanceDatabase(t *testing.T) {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dbtest.ServerURL())
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close(ctx) }) // registered first, so it runs after the cleanups below
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	role, db := "ii_test_role_"+hex.EncodeToString(suffix), "ii_test_owned_"+hex.EncodeToString(suffix)
	exec := func(sql string) { _, err := admin.Exec(ctx, sql); require.NoError(t, err, sql) }
	exec("CREATE ROLE " + role + " LOGIN PASSWORD 'secret-pw'")
	t.Cleanup(func() { _, _ = admin.Exec(ctx, "DROP ROLE IF EXISTS "+role) })
	exec("CREATE DATABASE " + db + " OWNER " + role)
	t.Cleanup(func() { _, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)") })
	// CONNECT is granted to PUBLIC by default; revoking it for this role alone means revoking it
	// from PUBLIC and granting it back to every other role that may need it (superusers bypass it).
	exec("REVOKE CONNECT ON DATABASE postgres FROM PUBLIC")
	t.Cleanup(func() { _, _ = admin.Exec(ctx, "GRANT CONNECT ON DATABASE postgres TO PUBLIC") })

	url := func(database string) string {
		u, err := neturl.Parse(dbtest.ServerURL())
		require.NoError(t, err)
		u.User, u.Path = neturl.UserPassword(role, "secret-pw"), "/"+database
		return u.String()
	}
	_, err = pgx.Connect(ctx, url("postgres"))
	require.Error(t, err, "the role must not reach the maintenance database")

	require.NoError(t, models.EnsureDatabase(ctx, url(db)))
	conn, err := models.Open(ctx, url(db))
	require.NoError(t, err)
	require.NoError(t, models.Migrate(ctx, conn.SQL))
	require.NoError(t, models.CheckMigrated(ctx, conn.SQL))
	conn.Close()

	err = models.EnsureDatabase(ctx, url(db+"_missing"))
	require.ErrorContains(t, err, db+"_missing does not exist")
	require.ErrorContains(t, err, "/postgres")
	require.NotContains(t, err.Error(), "secret-pw")
}

// CheckMigrated tells an empty or partly migrated database from a migrated one.
func TestCheckMigrated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := models.Open(ctx, dbtest.NewEmptyDatabase(t))
	require.NoError(t, err)
	defer db.Close()
	require.ErrorIs(t, models.CheckMigrated(ctx, db.SQL), models.ErrNotMigrated)
	require.NoError(t, models.Migrate(ctx, db.SQL))
	require.NoError(t, models.CheckMigrated(ctx, db.SQL))
	_, err = db.SQL.ExecContext(ctx, `DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)`)
	require.NoError(t, err)
	require.ErrorIs(t, models.CheckMigrated(ctx, db.SQL), models.ErrNotMigrated)
}
