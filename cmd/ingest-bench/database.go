package main

import (
	"context"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"invoice-ingest/internal/scratch"
	"invoice-ingest/models"
)

// createScratch creates the scratch database and returns what drops it. The drop runs whatever
// happened, also after an interrupt: it runs on a fresh context, and WITH (FORCE) ends sessions
// a dying child left behind. It closes the bench's pools first.
func (b *bench) createScratch(ctx context.Context) (drop func(), err error) {
	name, url, err := scratch.Create(ctx, b.cfg.serverURL, "ingest_bench_")
	if err != nil {
		return nil, err
	}
	b.url, b.dbName = url, name
	b.log("scratch database %s", name)
	return func() {
		if b.pool != nil {
			b.pool.Close()
		}
		if b.db != nil {
			b.db.Close()
		}
		if derr := scratch.Drop(b.cfg.serverURL, name); derr != nil {
			b.log("could not drop %s: %v", name, derr)
		}
	}, nil
}

// connect migrates the scratch database and opens its two pools: the service's own, so GORM runs
// with the service's settings, and a pgx pool with room for every client at once.
//
// With DB_POOLER=pgbouncer (as the service reads it) neither pool names statements, so the tool
// runs through a transaction-pooling PgBouncer too.
func (b *bench) connect(ctx context.Context) (err error) {
	pooler := os.Getenv("DB_POOLER") == "pgbouncer"
	if b.db, err = models.Open(ctx, b.url, models.WithPooler(pooler)); err != nil {
		return err
	}
	if err := models.Migrate(ctx, b.db.SQL); err != nil {
		return err
	}
	pcfg, err := pgxpool.ParseConfig(b.url)
	if err != nil {
		return err
	}
	pcfg.MaxConns = int32(b.cfg.clients + 2)
	if pooler {
		pcfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	}
	b.pool, err = pgxpool.NewWithConfig(ctx, pcfg)
	return err
}

// reset empties invoices and the queue: every insert pass starts from the same empty table (the
// customers and plans stay), then settles it.
func (b *bench) reset(ctx context.Context) error {
	if _, err := b.pool.Exec(ctx, "TRUNCATE invoices, recalc_queue, recalc_outbox"); err != nil {
		return err
	}
	return b.settle(ctx)
}

// settle runs before every timed pass, untimed: VACUUM ANALYZE sets hint bits and statistics (so
// no pass pays for the previous one's cleanup or for autovacuum's timing), and CHECKPOINT makes
// every pass start just after one (so full-page writes weigh the same in each). CHECKPOINT needs
// superuser or pg_checkpoint; without it the pass just runs unsettled.
func (b *bench) settle(ctx context.Context) error {
	if _, err := b.pool.Exec(ctx, "VACUUM ANALYZE invoices, recalc_queue, recalc_outbox"); err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, "CHECKPOINT"); err != nil && ctx.Err() == nil {
		b.log("CHECKPOINT refused (%v); continuing without", err)
	}
	return ctx.Err()
}

// countInvoices is a sanity check after each insert pass.
func (b *bench) countInvoices(ctx context.Context, want int) error {
	var n int
	if err := b.pool.QueryRow(ctx, "SELECT count(*) FROM invoices").Scan(&n); err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("invoices holds %d rows, want %d", n, want)
	}
	return nil
}
