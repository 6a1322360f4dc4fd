package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStreamSettings(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, 60*time.Second, c.StreamIdleTimeout)
	require.Equal(t, 4, c.MaxStreamsPerAccount)
	require.Equal(t, 60*time.Second, c.RequestTimeout)
	require.Equal(t, 2*time.Second, c.ShutdownDrain)

	c, err = Load(env(map[string]string{"STREAM_IDLE_TIMEOUT": "200ms", "MAX_STREAMS_PER_ACCOUNT": "1",
		"REQUEST_TIMEOUT": "5s", "SHUTDOWN_DRAIN": "0"}))
	require.NoError(t, err)
	require.Equal(t, 200*time.Millisecond, c.StreamIdleTimeout)
	require.Equal(t, 1, c.MaxStreamsPerAccount)
	require.Equal(t, 5*time.Second, c.RequestTimeout)
	require.Zero(t, c.ShutdownDrain)

	for name, value := range map[string]string{"STREAM_IDLE_TIMEOUT": "60", "MAX_STREAMS_PER_ACCOUNT": "-1",
		"REQUEST_TIMEOUT": "-5s", "SHUTDOWN_DRAIN": "soon"} {
		_, err := Load(env(map[string]string{name: value}))
		require.Error(t, err, name)
		require.True(t, strings.HasPrefix(err.Error(), name+": "), err.Error())
	}
	_, err = Load(env(map[string]string{"SHUTDOWN_DRAIN": "11s"}))
	require.ErrorContains(t, err, "SHUTDOWN_DRAIN: must be at most 10s")
}
