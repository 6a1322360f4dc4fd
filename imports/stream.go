package imports

import (
	"context"
	"fmt"
	"invoice-ingest/models"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// A running import's heartbeat is refreshed every HeartbeatInterval by the process serving it
// (and by each chunk it commits); the sweep marks one whose heartbeat is older than StaleAfter
// interrupted: its process died, or lost the database for that long.
const (
	HeartbeatInterval = 20 * time.Second
	StaleAfter        = 2 * time.Minute
)

// Begin records an NDJSON stream's import as running, before its first chunk.
func Begin(ctx context.Context, db *gorm.DB, h Header) error {
	err := db.WithContext(ctx).Exec(`
INSERT INTO imports (account_id, id, entity, status, dry_run, content_type, key_id, started_at, heartbeat_at)
VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, clock_timestamp())`,
		[16]byte(h.AccountID), [16]byte(h.ID), h.Entity, h.DryRun, h.ContentType, [16]byte(h.KeyID), h.StartedAt).Error
	if err != nil {
		return fmt.Errorf("begin import: %w", err)
	}
	return nil
}

// Heartbeat says the running import is still served.
func Heartbeat(ctx context.Context, db *gorm.DB, account, id uuid.UUID) error {
	err := db.WithContext(ctx).Exec(`UPDATE imports SET heartbeat_at = $3::timestamptz
WHERE account_id = $1 AND id = $2 AND status = 'running'`, [16]byte(account), [16]byte(id), models.Now()).Error
	if err != nil {
		return fmt.Errorf("import heartbeat: %w", err)
	}
	return nil
}

// Finish ends a running import with status (Completed, Failed or Interrupted). An import the sweep
// marked interrupted meanwhile stays so.
func Finish(ctx context.Context, db *gorm.DB, account, id uuid.UUID, status string) error {
	err := db.WithContext(ctx).Exec(`UPDATE imports SET status = $3, finished_at = $4::timestamptz
WHERE account_id = $1 AND id = $2 AND status = 'running'`, [16]byte(account), [16]byte(id), status, models.Now()).Error
	if err != nil {
		return fmt.Errorf("finish import: %w", err)
	}
	return nil
}

// KeepAlive refreshes the import's heartbeat every HeartbeatInterval until the returned stop is
// called (which waits for it to be done; it may be called again). A failed heartbeat is retried
// at the next tick.
func KeepAlive(db *gorm.DB, account, id uuid.UUID) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(HeartbeatInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_ = Heartbeat(ctx, db, account, id)
			}
		}
	}()
	return func() { cancel(); <-done }
}
