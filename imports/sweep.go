package imports

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"invoice-ingest/config"
	"invoice-ingest/recalc"
)

// sweepLimit bounds the rows one sweep statement deletes; the next sweep continues.
const sweepLimit = 1000

// interruptSQL marks running imports whose heartbeat is older than $1 interrupted, finished at
// their last heartbeat: their counts are what committed.
const interruptSQL = `
UPDATE imports SET status = 'interrupted', finished_at = heartbeat_at
WHERE status = 'running' AND heartbeat_at < $1`

// expireImportsSQL deletes finished imports started before $1 (their error rows go with them).
const expireImportsSQL = `
DELETE FROM imports
WHERE (account_id, id) IN (SELECT account_id, id FROM imports
                           WHERE started_at < $1 AND status <> 'running' LIMIT $2)`

// expireKeysSQL deletes Idempotency-Key rows past their TTL (a running one once its lease ended).
const expireKeysSQL = `
DELETE FROM idempotency_keys
WHERE (account_id, key) IN (SELECT account_id, key FROM idempotency_keys
                            WHERE expires_at < $1 AND (status = 'done' OR lease_until < $1) LIMIT $2)`

// Sweep, at instant now: marks imports whose process died interrupted, deletes imports older than
// cfg.Retention (and their recalculation progress) and keys past their expiry (set from
// IDEMPOTENCY_TTL when the key was taken). Each
// step is one short statement; a step that hits its bound leaves the rest to the next sweep.
func Sweep(ctx context.Context, db *gorm.DB, cfg config.Imports, now time.Time) error {
	db = db.WithContext(ctx)
	if err := db.Exec(interruptSQL, now.Add(-StaleAfter)).Error; err != nil {
		return fmt.Errorf("sweep imports: interrupt: %w", err)
	}
	if err := db.Exec(expireImportsSQL, now.Add(-cfg.Retention), sweepLimit).Error; err != nil {
		return fmt.Errorf("sweep imports: retention: %w", err)
	}
	if err := recalc.ForgetProgress(ctx, db, now.Add(-cfg.Retention)); err != nil {
		return err
	}
	if err := db.Exec(expireKeysSQL, now, sweepLimit).Error; err != nil {
		return fmt.Errorf("sweep imports: idempotency keys: %w", err)
	}
	return nil
}
