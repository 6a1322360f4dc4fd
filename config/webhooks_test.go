package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWebhooks(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, Webhooks{Workers: 2, PollInterval: 200 * time.Millisecond}, c.Webhooks, "defaults")

	c, err = Load(env(map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_WORKERS": "0", "WEBHOOK_POLL_INTERVAL": "1s"}))
	require.NoError(t, err)
	require.Equal(t, Webhooks{AllowPrivate: true, PollInterval: time.Second}, c.Webhooks)

	for name, value := range map[string]string{"WEBHOOK_ALLOW_PRIVATE": "yes", "WEBHOOK_WORKERS": "-1", "WEBHOOK_POLL_INTERVAL": "0"} {
		_, err := Load(env(map[string]string{name: value}))
		require.ErrorContains(t, err, name+": ", "%s=%s", name, value)
	}
}
