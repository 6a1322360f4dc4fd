package config

import (
	"fmt"
	"time"
)

// Imports and Idempotency-Key answers (SPEC 3, 4): their defaults, read by loadImports.
const (
	DefaultIdempotencyTTL   = 24 * time.Hour
	DefaultImportsRetention = 720 * time.Hour
)

// Imports is how long import records and Idempotency-Key answers are kept.
type Imports struct {
	IdempotencyTTL time.Duration // IDEMPOTENCY_TTL: how long an Idempotency-Key answer is kept
	Retention      time.Duration // IMPORTS_RETENTION: how long import records are kept
}

// loadImports reads IDEMPOTENCY_TTL and IMPORTS_RETENTION into c, each its default when unset.
// Both must be positive: a TTL of 0 would make every key useless, a retention of 0 every import.
func (c *Config) loadImports(getenv func(string) string) error {
	var err error
	if c.Imports.IdempotencyTTL, err = positiveDuration(getenv, "IDEMPOTENCY_TTL", DefaultIdempotencyTTL); err != nil {
		return err
	}
	c.Imports.Retention, err = positiveDuration(getenv, "IMPORTS_RETENTION", DefaultImportsRetention)
	return err
}

// positiveDuration reads a Go duration ("24h", "90m"), def when unset; it must be above 0.
func positiveDuration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	d, err := nonNegativeDuration(getenv, name, def)
	if err == nil && d == 0 {
		err = fmt.Errorf("%s: must be a duration > 0 such as 24h (got %q)", name, getenv(name))
	}
	return d, err
}
