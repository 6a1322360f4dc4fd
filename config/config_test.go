package config

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func env(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, DefaultDatabaseURL, c.DatabaseURL)
	require.Equal(t, "127.0.0.1:8080", c.HTTPAddr)
	require.Equal(t, 10000, c.MaxRows)
	require.Equal(t, int64(33554432), c.MaxBodyBytes)
	require.Equal(t, 2, c.RecalcWorkers)
	require.Equal(t, slog.LevelInfo, c.LogLevel)
}

func TestOverrides(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{
		"DATABASE_URL": "postgres://u@db:5433/x", "HTTP_ADDR": ":9000", "INGEST_MAX_ROWS": "5",
		"INGEST_MAX_BODY_BYTES": "2048", "RECALC_WORKERS": "0", "LOG_LEVEL": "DEBUG",
	}))
	require.NoError(t, err)
	require.Equal(t, "postgres://u@db:5433/x", c.DatabaseURL)
	require.Equal(t, ":9000", c.HTTPAddr)
	require.Equal(t, 5, c.MaxRows)
	require.Equal(t, int64(2048), c.MaxBodyBytes)
	require.Equal(t, 0, c.RecalcWorkers)
	require.Equal(t, slog.LevelDebug, c.LogLevel)
}

func TestInvalidNamesTheVariable(t *testing.T) {
	t.Parallel()
	for name, value := range map[string]string{
		"DATABASE_URL": "::nonsense", "HTTP_ADDR": "8080", "INGEST_MAX_ROWS": "0",
		"INGEST_MAX_BODY_BYTES": "big", "RECALC_WORKERS": "-1", "LOG_LEVEL": "loud", "DEBUG_ADDR": "6060",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(env(map[string]string{name: value}))
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), name+": "), err.Error())
			require.NotContains(t, err.Error(), "\n")
		})
	}
}

func TestMetricsAddr(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9464", c.MetricsAddr, "on by default, on loopback")
	c, err = Load(env(map[string]string{"METRICS_ADDR": ""}))
	require.NoError(t, err)
	require.Empty(t, c.MetricsAddr, "set empty: off")
	c, err = Load(env(map[string]string{"METRICS_ADDR": "0.0.0.0:9100"}))
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0:9100", c.MetricsAddr)
	_, err = Load(env(map[string]string{"METRICS_ADDR": "9100"}))
	require.ErrorContains(t, err, "METRICS_ADDR")
}

func TestLimits(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, Limits{WritesPerSecond: 50, ReadsPerSecond: 200, AuthFailuresPerSecond: 10, MaxInflightWrites: 64}, c.Limits)
	c, err = Load(env(map[string]string{
		"RATE_LIMIT_WRITES": "0", "RATE_LIMIT_READS": "0.5", "RATE_LIMIT_AUTH_FAILURES": "3", "MAX_INFLIGHT_WRITES": "0",
	}))
	require.NoError(t, err)
	require.Equal(t, Limits{WritesPerSecond: 0, ReadsPerSecond: 0.5, AuthFailuresPerSecond: 3, MaxInflightWrites: 0}, c.Limits)
	for name, value := range map[string]string{
		"RATE_LIMIT_WRITES": "-1", "RATE_LIMIT_READS": "NaN", "RATE_LIMIT_AUTH_FAILURES": "lots", "MAX_INFLIGHT_WRITES": "1.5",
	} {
		_, err := Load(env(map[string]string{name: value}))
		require.Error(t, err)
		require.True(t, strings.HasPrefix(err.Error(), name+": "), err.Error())
	}
}
