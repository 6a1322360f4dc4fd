package models

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DB is the pool shared by every part of the service. Gorm is the data layer; SQL is the same pool
// seen through database/sql, for the few set-based statements GORM's builder cannot express.
type DB struct {
	Gorm *gorm.DB
	SQL  *sql.DB
}

// Option changes how Open sets up the pool.
type Option func(*options)

type options struct {
	log      *slog.Logger
	maxConns int
}

// WithLogger logs every statement at debug level on log (see statementLog).
func WithLogger(log *slog.Logger) Option { return func(o *options) { o.log = log } }

// WithMaxConns sets the most connections the pool opens (20 by default).
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = n } }

// Open connects to the database at url (which must exist) and checks it answers.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	o := options{maxConns: 20}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	// Our set-based statements take whole batches as array parameters. A cached prepared
	// statement gets a generic plan after five runs, which guesses such arrays hold 10 elements;
	// CacheDescribe runs every statement unnamed, planned with its real parameters, and caches only
	// the description. (The plan_cache_mode setting would do the same but also re-plan
	// PostgreSQL's internal per-row foreign-key checks, doubling their cost.)
	cfg.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	sqlDB := stdlib.OpenDB(*cfg)
	sqlDB.SetMaxOpenConns(o.maxConns)
	sqlDB.SetMaxIdleConns(o.maxConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		Logger:                 gormLogger(o.log),
		SkipDefaultTransaction: true,
		DisableAutomaticPing:   true, // pinged below, with an error that names the database
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open gorm: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect to %s: %w", Describe(cfg), err)
	}
	return &DB{Gorm: gdb, SQL: sqlDB}, nil
}

// gormLogger is statementLog on log, or GORM's silent logger without one.
func gormLogger(log *slog.Logger) logger.Interface {
	if log == nil {
		return logger.Discard
	}
	return statementLog{log: log}
}

// Close closes the pool.
func (db *DB) Close() error { return db.SQL.Close() }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.SQL.PingContext(ctx) }

// Now returns the current time as PostgreSQL stores it (UTC, microseconds), so a value returned
// on create equals the value read back later.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
