package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"invoice-ingest/config"
	"invoice-ingest/models"
)

// The database rules of SPEC section 2: only migrate and serve create a missing database or
// apply migrations (prepareDatabase); every other command opens an existing, migrated one
// (openMigrated) and otherwise stops with one line saying what to run.

// prepareDatabase creates the database if needed, opens it and applies pending migrations.
func prepareDatabase(ctx context.Context, url string, opts ...models.Option) (*models.DB, error) {
	if err := models.EnsureDatabase(ctx, url); err != nil {
		return nil, err
	}
	db, err := models.Open(ctx, url, opts...)
	if err != nil {
		return nil, err
	}
	if err := models.Migrate(ctx, db.SQL); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openMigrated opens the database at url, which must exist and hold every migration of this
// binary; it changes nothing.
func openMigrated(ctx context.Context, url string, opts ...models.Option) (*models.DB, error) {
	db, err := models.Open(ctx, url, opts...)
	if models.IsMissingDatabase(err) {
		return nil, fmt.Errorf(`database %s does not exist: run "invoice-ingest migrate" first`, models.DescribeURL(url))
	}
	if err != nil {
		return nil, fmt.Errorf("cannot use database %s: %w", models.DescribeURL(url), err)
	}
	if err := models.CheckMigrated(ctx, db.SQL); err != nil {
		db.Close()
		if errors.Is(err, models.ErrNotMigrated) {
			return nil, notMigrated(url, err)
		}
		return nil, err
	}
	return db, nil
}

// notMigrated words CheckMigrated's error as one line naming the database and what to run.
func notMigrated(url string, err error) error {
	detail := strings.TrimPrefix(err.Error(), models.ErrNotMigrated.Error())
	detail = strings.TrimPrefix(detail, ": ")
	if detail != "" {
		detail = " (" + detail + ")"
	}
	return fmt.Errorf(`database %s is not migrated%s: run "invoice-ingest migrate"`, models.DescribeURL(url), detail)
}

// dbOptions are the pool options of cfg's DB_* variables, plus statement logging on log when
// log is set. A DB_MAX_CONNS below what the workers need was raised by config; that is logged on
// log, as a warning.
func dbOptions(cfg config.Config, log *slog.Logger) []models.Option {
	d := cfg.DB
	opts := []models.Option{models.WithMaxConns(d.MaxConns), models.WithStatementTimeout(d.StatementTimeout),
		models.WithIdleInTxTimeout(d.IdleInTxTimeout), models.WithConnectTimeout(d.ConnectTimeout),
		models.WithPooler(d.PgBouncer())}
	if log != nil {
		opts = append(opts, models.WithLogger(log))
		if d.RequestedMaxConns > 0 {
			log.Warn("DB_MAX_CONNS raised to what the recalculation workers need plus 4",
				"requested", d.RequestedMaxConns, "max_conns", d.MaxConns, "recalc_workers", cfg.RecalcWorkers)
		}
	}
	return opts
}

// openDB loads the configuration, then opens the migrated database it names.
func openDB(ctx context.Context, lookup config.Lookup) (*models.DB, error) {
	cfg, err := config.Load(lookup)
	if err != nil {
		return nil, err
	}
	return openMigrated(ctx, cfg.DatabaseURL, dbOptions(cfg, nil)...)
}

// migrateCommand is `invoice-ingest migrate`.
func migrateCommand(ctx context.Context, args []string, e env) error {
	fs := newFlags("migrate", "", `Create the database named in DATABASE_URL if it does not exist (through the maintenance
database "postgres", which is touched only then), apply pending migrations, and exit.
Several processes may run it at once: a lock row (table goose_lock) makes them take turns.`)
	if err := fs.noArgs(args, e.stdout); err != nil {
		return err
	}
	cfg, err := config.Load(e.lookup)
	if err != nil {
		return err
	}
	db, err := prepareDatabase(ctx, cfg.DatabaseURL, dbOptions(cfg, nil)...)
	if err != nil {
		return err
	}
	return db.Close()
}
