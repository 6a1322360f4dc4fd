package config

import (
	"fmt"
	"time"
)

// Streams, request deadlines and shutdown: their defaults, read by loadStreams.
const (
	DefaultStreamIdleTimeout    = 60 * time.Second
	DefaultMaxStreamsPerAccount = 4
	DefaultRequestTimeout       = 60 * time.Second
	DefaultShutdownDrain        = 2 * time.Second
	// MaxShutdownDrain keeps the drain and the shutdown after it within SPEC 6's 30 s.
	MaxShutdownDrain = 10 * time.Second
)

// loadStreams reads STREAM_IDLE_TIMEOUT, MAX_STREAMS_PER_ACCOUNT, REQUEST_TIMEOUT and
// SHUTDOWN_DRAIN into c, each its default when unset. A duration of 0 turns its deadline (or
// the drain) off, and 0 streams means no limit. SHUTDOWN_DRAIN is at most MaxShutdownDrain.
func (c *Config) loadStreams(getenv func(string) string) error {
	var err error
	if c.StreamIdleTimeout, err = nonNegativeDuration(getenv, "STREAM_IDLE_TIMEOUT", DefaultStreamIdleTimeout); err != nil {
		return err
	}
	if c.MaxStreamsPerAccount, err = intVar(getenv, "MAX_STREAMS_PER_ACCOUNT", DefaultMaxStreamsPerAccount, 0); err != nil {
		return err
	}
	if c.RequestTimeout, err = nonNegativeDuration(getenv, "REQUEST_TIMEOUT", DefaultRequestTimeout); err != nil {
		return err
	}
	if c.ShutdownDrain, err = nonNegativeDuration(getenv, "SHUTDOWN_DRAIN", DefaultShutdownDrain); err != nil {
		return err
	}
	if c.ShutdownDrain > MaxShutdownDrain {
		return fmt.Errorf("SHUTDOWN_DRAIN: must be at most %s (got %s)", MaxShutdownDrain, c.ShutdownDrain)
	}
	return nil
}

// nonNegativeDuration reads a Go duration ("90s", "2m", "0"), def when unset.
func nonNegativeDuration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return def, fmt.Errorf("%s: must be a duration >= 0 such as 60s or 2m (got %q)", name, v)
	}
	return d, nil
}
