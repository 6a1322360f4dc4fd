package models

import (
	"database/sql"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// prepared, passed as a statement's first argument, makes pgx run it as a prepared statement
// cached per connection, instead of the pool's default of planning every execution with its real
// parameters (see Open). PostgreSQL then soon settles on a generic plan and skips planning, which
// is a large share of what a re-sent batch costs it. Only statements whose plan depends neither on
// the arrays' lengths nor on the size of a table they read use it: INSERT ... SELECT FROM unnest
// (the upserts), whose conflicts go through the unique index whatever the statistics say. A plan
// that can choose between a scan and an index (ProbeStored, LockUnchanged) must not be cached: made
// while a table was empty and vacuumed, it keeps scanning it as it grows.
const prepared = pgx.QueryExecModeCacheStatement

// preparedArgs puts prepared in front of args, unless GORM prepares statements itself
// (gorm.Config.PrepareStmt): database/sql would then count pgx's mode as one more parameter, and
// the statement is prepared anyway; or unless the pool was opened WithPooler: a named statement
// lives in one server session, which a transaction-pooling PgBouncer hands to other clients (pgx's
// names then collide: 42P05), so the statement runs in the pool's unnamed default mode.
func preparedArgs(db *gorm.DB, args ...any) []any {
	if db.Config.PrepareStmt {
		return args
	}
	if _, pooled := db.Config.Plugins[noNamedStatementsName]; pooled {
		return args
	}
	return append([]any{prepared}, args...)
}

// query runs a statement GORM's builder cannot express (arrays as parameters, RETURNING of
// per-row facts) through the GORM session db: the pool, or the transaction a caller began with
// GORM. The text uses $n placeholders, so GORM passes args to the driver as they are (a Go slice
// stays one array parameter instead of being expanded into a list).
func query(db *gorm.DB, q string, args ...any) (*sql.Rows, error) {
	return db.Raw(q, args...).Rows()
}

// Prepared is preparedArgs for the statements of other packages (recalc's queue and write-back)
// run through db, the pool or a GORM transaction: pgx prepares each once per connection and
// PostgreSQL soon reuses a generic plan, which for the many short statements of a small
// account's recalculation is a large share of their cost. Only for statements whose plan depends
// neither on the lengths of their arrays nor on the size of a table they read: plain inserts, or
// reads in a transaction that turned sequential scans off (recalc's indexesOnly). A plan cached
// while a table was empty and vacuumed reads all of it at every run as it grows.
func Prepared(db *gorm.DB, args ...any) []any { return preparedArgs(db, args...) }
