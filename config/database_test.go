package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDatabaseDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, Database{MaxConns: 20, StatementTimeout: time.Minute, IdleInTxTimeout: time.Minute,
		ConnectTimeout: 5 * time.Second, Pooler: "none"}, c.DB)
	require.False(t, c.DB.PgBouncer())
}

func TestDatabaseOverrides(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{
		"DB_MAX_CONNS": "40", "DB_STATEMENT_TIMEOUT": "15s", "DB_IDLE_IN_TRANSACTION_TIMEOUT": "0",
		"DB_CONNECT_TIMEOUT": "2s", "DB_POOLER": "PgBouncer",
	}))
	require.NoError(t, err)
	require.Equal(t, Database{MaxConns: 40, StatementTimeout: 15 * time.Second, ConnectTimeout: 2 * time.Second,
		Pooler: "pgbouncer"}, c.DB)
	require.True(t, c.DB.PgBouncer())
}

// A pool too small for the process's workers is raised to their need plus 4, and says so.
func TestMaxConnsFloor(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"DB_MAX_CONNS": "20", "RECALC_WORKERS": "10"}))
	require.NoError(t, err)
	require.Equal(t, 2*10+1+4, c.DB.MaxConns)
	require.Equal(t, 20, c.DB.RequestedMaxConns)

	c, err = Load(env(map[string]string{"DB_MAX_CONNS": "25", "RECALC_WORKERS": "10"}))
	require.NoError(t, err)
	require.Equal(t, 25, c.DB.MaxConns)
	require.Zero(t, c.DB.RequestedMaxConns)

	c, err = Load(env(map[string]string{"DB_MAX_CONNS": "1", "RECALC_WORKERS": "0"}))
	require.NoError(t, err)
	require.Equal(t, 4, c.DB.MaxConns)
}

func TestDatabaseInvalidNamesTheVariable(t *testing.T) {
	t.Parallel()
	for name, value := range map[string]string{
		"DB_MAX_CONNS": "0", "DB_STATEMENT_TIMEOUT": "60", "DB_IDLE_IN_TRANSACTION_TIMEOUT": "-1s",
		"DB_CONNECT_TIMEOUT": "0", "DB_POOLER": "pgpool",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(env(map[string]string{name: value}))
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), name+": "), err.Error())
		})
	}
}
