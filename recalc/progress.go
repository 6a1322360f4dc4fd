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
// last reached 0 (nil while it is above 0 or before the first customer caught up).
//
// recalc_import_progress is recalc's table: EnqueueImport adds the customers of each write, the
// fold takes back those merged into a queue row already carrying the import, and the write-back
// takes one off for each finished queue row carrying it (see foldSQL and finishSQL). An import
// that queued nothing has no row: the zero Progress.
type Progress struct {
	Customers  int64
	Pending    int64
	CaughtUpAt *time.Time
}

const progressSQL = `
SELECT import_id, customers, greatest(pending, 0), caught_up_at
FROM recalc_import_progress WHERE account_id = $1 AND import_id = ANY($2::uuid[])`

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
		if err := rows.Scan(&id, &p.Customers, &p.Pending, &p.CaughtUpAt); err != nil {
			return nil, fmt.Errorf("scan import progress: %w", err)
		}
		out[id] = p
	}
	return out, rows.Err()
}

// forgetProgressSQL deletes progress rows untouched since $1, at most 10,000 per statement.
const forgetProgressSQL = `
DELETE FROM recalc_import_progress p
WHERE (p.account_id, p.import_id) IN (
    SELECT account_id, import_id FROM recalc_import_progress WHERE updated_at < $1 LIMIT 10000)`

// ForgetProgress deletes the progress of imports untouched since before: the imports' retention
// (package imports) calls it with its own cutoff. It returns how many rows went.
func ForgetProgress(ctx context.Context, db *gorm.DB, before time.Time) (int64, error) {
	res := db.WithContext(ctx).Exec(forgetProgressSQL, before)
	if res.Error != nil {
		return 0, fmt.Errorf("forget import progress: %w", res.Error)
	}
	return res.RowsAffected, nil
}
