package recalc

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Progress is how far the recalculation an import queued has come (SPEC 4, metrics of an import):
// Customers whose recalculation it queued, how many of them are still Pending, and when pending
// reached 0 (nil while it is above 0).
//
// recalc_import_progress is recalc's table, append-only: EnqueueImport appends the customers of
// each write, the fold appends minus those merged into a queue row already carrying the import,
// and the write-back appends minus the finished queue rows carrying it (see foldSQL and
// finishSQL); a read sums an import's rows. Nothing is updated in place, so writers, folds and
// concurrent write-backs never wait for each other on an import's counter. The last row of an
// import whose pending is 0 is the write-back that brought it there: its instant is the caught-up
// instant. An import that queued nothing has no row: the zero Progress.
type Progress struct {
	Customers  int64
	Pending    int64
	CaughtUpAt *time.Time
}

const progressSQL = `
SELECT import_id, sum(customers), greatest(sum(pending), 0), max(at)
FROM recalc_import_progress WHERE account_id = $1 AND import_id = ANY($2::uuid[])
GROUP BY import_id`

// ImportProgress returns the progress of the account's imports ids; an import that queued nothing
// is missing from the map.
func ImportProgress(ctx context.Context, db *gorm.DB, account uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]Progress, error) {
	out := make(map[uuid.UUID]Progress, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	raw := make([][16]byte, len(ids))
	for i, id := range ids {
		raw[i] = id
	}
	rows, err := db.WithContext(ctx).Raw(progressSQL, [16]byte(account), raw).Rows()
	if err != nil {
		return nil, fmt.Errorf("read import progress: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var p Progress
		var at time.Time
		if err := rows.Scan(&id, &p.Customers, &p.Pending, &at); err != nil {
			return nil, fmt.Errorf("scan import progress: %w", err)
		}
		if p.Pending == 0 {
			p.CaughtUpAt = &at
		}
		out[id] = p
	}
	return out, rows.Err()
}

// forgetProgressSQL deletes account $1's progress rows from before $2.
const forgetProgressSQL = `DELETE FROM recalc_import_progress WHERE account_id = $1 AND at < $2`

// compactProgressSQL replaces the rows of up to 1000 imports of account $1 that have several by
// their sum (latest instant kept). Rows appended meanwhile are not seen, so not deleted: sums stay
// exact, and two compactions at once delete each row once.
const compactProgressSQL = `
WITH several AS (
    SELECT import_id FROM recalc_import_progress WHERE account_id = $1
    GROUP BY import_id HAVING count(*) > 1 LIMIT 1000
), gone AS (
    DELETE FROM recalc_import_progress p USING several s
    WHERE p.account_id = $1 AND p.import_id = s.import_id
    RETURNING p.*
)
INSERT INTO recalc_import_progress (account_id, import_id, customers, pending, at)
SELECT account_id, import_id, sum(customers), sum(pending), max(at) FROM gone GROUP BY account_id, import_id`

// ForgetProgress compacts the progress rows of imports, and deletes those from before before:
// the imports' retention (package imports) calls it with its own cutoff, from the sweep. One
// account per statement, so on Citus each runs on one shard.
func ForgetProgress(ctx context.Context, db *gorm.DB, before time.Time) error {
	db = db.WithContext(ctx)
	var accounts []uuid.UUID
	if err := db.Raw(`SELECT DISTINCT account_id FROM recalc_import_progress WHERE at < $1`, before).Scan(&accounts).Error; err != nil {
		return fmt.Errorf("forget import progress: %w", err)
	}
	for _, a := range accounts {
		if err := db.Exec(forgetProgressSQL, [16]byte(a), before).Error; err != nil {
			return fmt.Errorf("forget import progress: %w", err)
		}
	}
	accounts = accounts[:0]
	if err := db.Raw(`SELECT DISTINCT account_id FROM recalc_import_progress
		GROUP BY account_id, import_id HAVING count(*) > 1`).Scan(&accounts).Error; err != nil {
		return fmt.Errorf("compact import progress: %w", err)
	}
	for _, a := range accounts {
		if err := db.Exec(compactProgressSQL, [16]byte(a)).Error; err != nil {
			return fmt.Errorf("compact import progress: %w", err)
		}
	}
	return nil
}
