package models

import (
	"context"
	"database/sql"
	"fmt"
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

// Open connects to the database at url (which must exist) and checks it answers.
func Open(ctx context.Context, url string) (*DB, error) {
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
	sqlDB.SetMaxOpenConns(20)
	sqlDB.SetMaxIdleConns(20)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
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

// Close closes the pool.
func (db *DB) Close() error { return db.SQL.Close() }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.SQL.PingContext(ctx) }

// Now returns the current time as PostgreSQL stores it (UTC, microseconds), so a value returned
// on create equals the value read back later.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
