package main

import (
	"context"

	"github.com/jackc/pgx/v5"

	"invoice-ingest/config"
	"invoice-ingest/recalc"
)

// recalcListen opens the recalculation workers' LISTEN connection on RECALC_LISTEN_URL, within
// DB_CONNECT_TIMEOUT; nil when there is none (polling only).
func recalcListen(cfg config.Config) recalc.ListenConn {
	if cfg.RecalcListenURL == "" {
		return nil
	}
	return func(ctx context.Context) (*pgx.Conn, error) {
		c, err := pgx.ParseConfig(cfg.RecalcListenURL)
		if err != nil {
			return nil, err // config checked it at start-up
		}
		c.ConnectTimeout = cfg.DB.ConnectTimeout
		c.RuntimeParams["application_name"] = "invoice-ingest recalc listener"
		return pgx.ConnectConfig(ctx, c)
	}
}
