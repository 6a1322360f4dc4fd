package models

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
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
	log              *slog.Logger
	maxConns         int
	statementTimeout time.Duration // 0: the server's setting
	idleInTxTimeout  time.Duration // 0: the server's setting
	connectTimeout   time.Duration // 0: none (the caller's context only)
	pooler           bool
}

// Defaults of Open's options. The session timeouts are left to the server unless asked for: the
// service asks for config's (SPEC section 2, docs/database.md); a tool or test that does not is
// not cut off, and sends no startup parameter a pooler could refuse.
const (
	DefaultMaxConns       = 20
	DefaultConnectTimeout = 5 * time.Second
)

// WithLogger logs every statement at debug level on log (see statementLog).
func WithLogger(log *slog.Logger) Option { return func(o *options) { o.log = log } }

// WithMaxConns sets the most connections the pool opens (DefaultMaxConns by default).
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = n } }

// WithStatementTimeout sets PostgreSQL's statement_timeout of the pool's sessions (0, the
// default, leaves the server's setting). Behind a pooler (WithPooler)
// it cannot be sent and must be set on the role or in the pooler (docs/database.md).
func WithStatementTimeout(d time.Duration) Option { return func(o *options) { o.statementTimeout = d } }

// WithIdleInTxTimeout sets PostgreSQL's idle_in_transaction_session_timeout of the pool's sessions
// (0, the default, leaves the server's setting), so a transaction whose client
// froze does not hold its locks for ever. Behind a pooler, as WithStatementTimeout.
func WithIdleInTxTimeout(d time.Duration) Option { return func(o *options) { o.idleInTxTimeout = d } }

// WithConnectTimeout bounds each attempt to open a connection (DefaultConnectTimeout by default; 0:
// only the caller's context bounds it).
func WithConnectTimeout(d time.Duration) Option { return func(o *options) { o.connectTimeout = d } }

// WithPooler says a transaction-pooling PgBouncer (or alike) sits between the pool and PostgreSQL:
// consecutive transactions of one connection may run on different server sessions. Then no
// statement is named (no prepared statement outlives its round trip: see preparedArgs) and no
// startup parameter other than the pooler's own is sent.
func WithPooler(on bool) Option { return func(o *options) { o.pooler = on } }

// Open connects to the database at url (which must exist) and checks it answers.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	o := options{maxConns: DefaultMaxConns, connectTimeout: DefaultConnectTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := connConfig(url, o)
	if err != nil {
		return nil, err
	}
	sqlDB := stdlib.OpenDB(*cfg)
	sqlDB.SetMaxOpenConns(o.maxConns)
	sqlDB.SetMaxIdleConns(o.maxConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	// A busy connection would otherwise live as long as the process, and with it every plan its
	// server session cached: ours (Prepared) and PostgreSQL's own for the foreign-key checks, which
	// a table that grew from empty with no ANALYZE since (autovacuum off) leaves on sequential
	// scans. An hour bounds how long such a plan can outlive the table it was made for.
	sqlDB.SetConnMaxLifetime(time.Hour)
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		Logger:                 gormLogger(o.log),
		SkipDefaultTransaction: true,
		DisableAutomaticPing:   true, // pinged below, with an error that names the database
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err == nil && o.pooler {
		err = gdb.Use(noNamedStatements{})
	}
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

// connConfig parses url and applies o's timeouts and pooler setting.
func connConfig(url string, o options) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	// Our set-based statements take whole batches as array parameters. A cached prepared
	// statement gets a generic plan after five runs, which guesses such arrays hold 10 elements;
	// CacheDescribe runs every statement unnamed, planned with its real parameters, and caches only
	// the description. (The plan_cache_mode setting would do the same but also re-plan
	// PostgreSQL's internal per-row foreign-key checks, doubling their cost.) Each of its round
	// trips parses the statement again, so it is safe behind a transaction-pooling PgBouncer too.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	if o.connectTimeout > 0 {
		cfg.ConnectTimeout = o.connectTimeout
	}
	if o.pooler {
		// PgBouncer refuses unknown startup parameters ("unsupported startup parameter"), and
		// ignore_startup_parameters would only drop them: the timeouts come from the role's
		// settings or the pooler's connect_query instead (docs/database.md).
		return cfg, nil
	}
	for name, d := range map[string]time.Duration{
		"statement_timeout":                   o.statementTimeout,
		"idle_in_transaction_session_timeout": o.idleInTxTimeout,
	} {
		if _, set := cfg.RuntimeParams[name]; !set && d > 0 { // the URL's own value wins
			cfg.RuntimeParams[name] = strconv.FormatInt(max(d.Milliseconds(), 1), 10)
		}
	}
	return cfg, nil
}

// noNamedStatements is a GORM plugin that only marks a pool opened WithPooler: GORM sessions and
// transactions share their Config's plugin map, so preparedArgs can tell from any of them.
type noNamedStatements struct{}

const noNamedStatementsName = "invoice-ingest:no-named-statements"

func (noNamedStatements) Name() string              { return noNamedStatementsName }
func (noNamedStatements) Initialize(*gorm.DB) error { return nil }

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
