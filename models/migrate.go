package models

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migration files (for tests that fingerprint the schema).
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder
	}
	return sub
}

// provider returns goose's provider of the embedded migrations on db.
func provider(db *sql.DB, opts ...goose.ProviderOption) (*goose.Provider, error) {
	p, err := goose.NewProvider(goose.DialectPostgres, db, Migrations(), opts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, nil
}

// ErrNotMigrated is wrapped by CheckMigrated's error when the database lacks migrations.
var ErrNotMigrated = errors.New("database is not migrated")

// CheckMigrated returns an error wrapping ErrNotMigrated when db lacks some of this binary's
// migrations, for the commands that must not create or change the schema themselves.
func CheckMigrated(ctx context.Context, db *sql.DB) error {
	var table *string
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('goose_db_version')::text`).Scan(&table); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if table == nil {
		return fmt.Errorf("%w: it holds no schema", ErrNotMigrated)
	}
	p, err := provider(db)
	if err != nil {
		return err
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current < target {
		return fmt.Errorf("%w: schema version %d, this binary needs %d", ErrNotMigrated, current, target)
	}
	return nil
}

// Migration lock: a row in table goose_lock (goose's table locker), held by a lease its holder
// renews. Unlike a session advisory lock it does not outlive the statement that takes it, so it
// works the same through a transaction-pooling PgBouncer, where a session lock would stay on
// whichever server session the pooler happened to hand out (and block every later migrate). A
// migrating process that dies holds it for at most migrationLease.
const (
	migrationLease     = 15 * time.Second
	migrationHeartbeat = 3 * time.Second
)

// Migrate applies pending migrations. The migration lock makes concurrent callers (several
// processes starting at once) wait for each other instead of migrating twice.
func Migrate(ctx context.Context, db *sql.DB) error {
	// Retry every second (default 5 s) for up to 5 minutes: start-up waits little behind a peer.
	locker, err := lock.NewPostgresTableLocker(
		lock.WithTableLeaseDuration(migrationLease),
		lock.WithTableHeartbeatInterval(migrationHeartbeat),
		lock.WithTableLockTimeout(time.Second, 300),
		lock.WithTableUnlockTimeout(time.Second, 30),
		lock.WithTableLogger(slog.New(slog.DiscardHandler)), // failures come back as Up's error
	)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	p, err := provider(db, goose.WithLocker(locker))
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
