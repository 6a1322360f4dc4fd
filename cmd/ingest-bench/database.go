package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	neturl "net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"invoice-ingest/models"
)

// createScratch creates the scratch database and returns what drops it. The drop runs whatever
// happened, also after an interrupt: it runs on a fresh context, and WITH (FORCE) ends sessions
// a dying child left behind. It closes the bench's pools first.
func (b *bench) createScratch(ctx context.Context) (drop func(), err error) {
	name := "ingest_bench_" + randomHex(6)
	if b.url, err = createDatabase(ctx, b.cfg.serverURL, name); err != nil {
		return nil, err
	}
	b.log("scratch database %s", name)
	return func() {
		if b.pool != nil {
			b.pool.Close()
		}
		if b.db != nil {
			b.db.Close()
		}
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if derr := dropDatabase(dctx, b.cfg.serverURL, name); derr != nil {
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

// createDatabase creates database name on the server of serverURL and returns its URL.
func createDatabase(ctx context.Context, serverURL, name string) (string, error) {
	u, err := neturl.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("-database-url must be a postgres:// URL (got %q)", serverURL)
	}
	if err := adminExec(ctx, serverURL, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create scratch database: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func dropDatabase(ctx context.Context, serverURL, name string) error {
	return adminExec(ctx, serverURL, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

func adminExec(ctx context.Context, serverURL, sql string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", serverURL, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
