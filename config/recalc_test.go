package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Workers LISTEN on DATABASE_URL by default, on nothing behind a transaction-pooling PgBouncer
// (where a LISTEN is lost at once) unless told where, and on nothing with "off".
func TestRecalcListenURL(t *testing.T) {
	t.Parallel()
	const db = "postgres://app:secret@db.internal:5432/ingest"
	const direct = "postgres://app:secret@db-direct.internal:5432/ingest"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"default", map[string]string{"DATABASE_URL": db}, db},
		{"pgbouncer", map[string]string{"DATABASE_URL": db, "DB_POOLER": "pgbouncer"}, ""},
		{"pgbouncer with a direct URL", map[string]string{"DATABASE_URL": db, "DB_POOLER": "pgbouncer", "RECALC_LISTEN_URL": direct}, direct},
		{"off", map[string]string{"DATABASE_URL": db, "RECALC_LISTEN_URL": "OFF"}, ""},
	} {
		c, err := Load(env(tc.env))
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, c.RecalcListenURL, tc.name)
	}
}

// A bad RECALC_LISTEN_URL stops the start with a message naming the variable, and not its value,
// which may hold a password.
func TestRecalcListenURLInvalid(t *testing.T) {
	t.Parallel()
	_, err := Load(env(map[string]string{"RECALC_LISTEN_URL": "mysql://root:hunter2@host/"}))
	require.ErrorContains(t, err, "RECALC_LISTEN_URL: must be a PostgreSQL URL")
	require.NotContains(t, err.Error(), "hunter2")
}
