package config

import (
	"fmt"
	"time"
)

// Webhook delivery (SPEC 9, docs/webhooks.md): the defaults read by loadWebhooks.
const (
	DefaultWebhookWorkers      = 2
	DefaultWebhookPollInterval = 200 * time.Millisecond
)

// Webhooks is how this process delivers webhooks.
type Webhooks struct {
	// AllowPrivate (WEBHOOK_ALLOW_PRIVATE=true) lets webhook URLs reach loopback, private and
	// link-local addresses: for development and tests, never for a service others use.
	AllowPrivate bool
	Workers      int           // WEBHOOK_WORKERS: concurrent delivery loops (0 = none in this process)
	PollInterval time.Duration // WEBHOOK_POLL_INTERVAL: how often an idle loop looks for due deliveries
}

// loadWebhooks reads WEBHOOK_ALLOW_PRIVATE, WEBHOOK_WORKERS and WEBHOOK_POLL_INTERVAL into c.
func (c *Config) loadWebhooks(getenv func(string) string) error {
	switch v := getenv("WEBHOOK_ALLOW_PRIVATE"); v {
	case "", "false":
	case "true":
		c.Webhooks.AllowPrivate = true
	default:
		return fmt.Errorf("WEBHOOK_ALLOW_PRIVATE: must be true or false (got %q)", v)
	}
	var err error
	if c.Webhooks.Workers, err = intVar(getenv, "WEBHOOK_WORKERS", DefaultWebhookWorkers, 0); err != nil {
		return err
	}
	c.Webhooks.PollInterval, err = positiveDuration(getenv, "WEBHOOK_POLL_INTERVAL", DefaultWebhookPollInterval)
	return err
}
