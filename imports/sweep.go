package imports

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
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

// expireImportsSQL deletes up to $3 finished imports of account $1 started before $2 (their error
// rows go with them). One account per statement, so on Citus it runs on one shard.
const expireImportsSQL = `
DELETE FROM imports
WHERE account_id = $1 AND id IN (SELECT id FROM imports
                                 WHERE account_id = $1 AND started_at < $2 AND status <> 'running' LIMIT $3)`

// expiredImportsSQL names the accounts with imports to expire (a read, lock-free).
const expiredImportsSQL = `SELECT DISTINCT account_id FROM imports WHERE started_at < $1 AND status <> 'running'`

// expireKeysSQL deletes up to $3 Idempotency-Key rows of account $1 past their TTL at $2 (a running
// one once its lease ended).
const expireKeysSQL = `
DELETE FROM idempotency_keys
WHERE account_id = $1 AND key IN (SELECT key FROM idempotency_keys
                                  WHERE account_id = $1 AND expires_at < $2 AND (status = 'done' OR lease_until < $2) LIMIT $3)`

// expiredKeysSQL names the accounts with keys to expire.
const expiredKeysSQL = `SELECT DISTINCT account_id FROM idempotency_keys WHERE expires_at < $1 AND (status = 'done' OR lease_until < $1)`

// Sweep, at instant now: marks imports whose process died interrupted, deletes imports older than
// cfg.Retention (and their recalculation progress) and keys past their expiry (set from
// IDEMPOTENCY_TTL when the key was taken). Each step is short statements, one account each; a step
// that hits its bound in an account leaves the rest to the next sweep.
func Sweep(ctx context.Context, db *gorm.DB, cfg config.Imports, now time.Time) error {
	db = db.WithContext(ctx)
	if err := db.Exec(interruptSQL, now.Add(-StaleAfter)).Error; err != nil {
		return fmt.Errorf("sweep imports: interrupt: %w", err)
	}
	cutoff := now.Add(-cfg.Retention)
	if err := perAccount(db, expiredImportsSQL, expireImportsSQL, cutoff); err != nil {
		return fmt.Errorf("sweep imports: retention: %w", err)
	}
	if err := recalc.ForgetProgress(ctx, db, cutoff); err != nil {
		return err
	}
	if err := perAccount(db, expiredKeysSQL, expireKeysSQL, now); err != nil {
		return fmt.Errorf("sweep imports: idempotency keys: %w", err)
	}
	return nil
}

// perAccount runs del (account $1, instant $2, limit $3) for each account that find (instant $1)
// names.
func perAccount(db *gorm.DB, find, del string, at time.Time) error {
	var accounts []uuid.UUID
	if err := db.Raw(find, at).Scan(&accounts).Error; err != nil {
		return err
	}
	for _, a := range accounts {
		if err := db.Exec(del, [16]byte(a), at, sweepLimit).Error; err != nil {
			return err
		}
	}
	return nil
}
