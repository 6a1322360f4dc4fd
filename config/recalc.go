package config

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// loadRecalcListen reads RECALC_LISTEN_URL into c.RecalcListenURL, the PostgreSQL URL on which
// recalculation workers LISTEN for committed writes (docs/operations.md, "Freshness"): unset, it is
// DATABASE_URL, or none behind a transaction-pooling PgBouncer (DB_POOLER=pgbouncer), where a
// LISTEN does not outlive its statement; "off" is none. With none, workers poll only. c.DB must be
// read already. The value may hold a password: an error never repeats it.
func (c *Config) loadRecalcListen(getenv func(string) string) error {
	v := getenv("RECALC_LISTEN_URL")
	switch {
	case v == "":
		c.RecalcListenURL = c.DatabaseURL
		if c.DB.PgBouncer() {
			c.RecalcListenURL = ""
		}
	case strings.EqualFold(v, "off"):
		c.RecalcListenURL = ""
	default:
		if cfg, err := pgx.ParseConfig(v); err != nil || cfg.Database == "" {
			return fmt.Errorf("RECALC_LISTEN_URL: must be a PostgreSQL URL naming a database (a direct " +
				"connection, not a transaction-pooling PgBouncer), or off")
		}
		c.RecalcListenURL = v
	}
	return nil
}
