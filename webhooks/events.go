package webhooks

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/imports"
	"invoice-ingest/models"
	"invoice-ingest/recalc"
)

// An import's caught-up moment has two possible causes: the write-back that takes its last
// customer off pending, and the transaction that finishes the import when pending is 0 already.
// Both run lockImports before they read the import, so the later of two concurrent ones sees
// what the earlier committed and one of them records the event; the (type, subject) key of
// webhook_events makes a second recording a no-op.

// ImportFinished records, in tx (the transaction that finished it), import.completed for the
// account's import id when it completed, and import.metrics_caught_up when its metrics are
// caught up already, for endpoints subscribed to them. now is the events' instant.
func ImportFinished(ctx context.Context, tx *gorm.DB, account, id uuid.UUID, now time.Time) error {
	subs, err := subscriptions(ctx, tx, []uuid.UUID{account})
	if err != nil {
		return err
	}
	want := subs[account]
	if !want[ImportCompleted] && !want[ImportCaughtUp] {
		return nil
	}
	if want[ImportCaughtUp] {
		if err := lockImports(ctx, tx, []uuid.UUID{id}); err != nil {
			return err
		}
	}
	imp, err := imports.Get(ctx, tx, account, id)
	if err != nil || imp.Status != imports.Completed {
		return err
	}
	var events []Event
	if want[ImportCompleted] {
		events = append(events, Event{Type: ImportCompleted, Subject: id.String(), Data: imp.Object()})
	}
	if want[ImportCaughtUp] && imp.Metrics.CaughtUpAt != nil {
		events = append(events, Event{Type: ImportCaughtUp, Subject: id.String(), Data: imp.Object()})
	}
	return Record(ctx, tx, account, now, events...)
}

// watchedSQL tells whether an endpoint of account $1 subscribes to one of the events $2.
const watchedSQL = `SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE account_id = $1 AND events && $2::text[])`

// recalcEvents are the events a recalculation's write-back may cause.
var recalcEvents = []string{MRRChanged, ImportCaughtUp}

// RecalcWatched is recalc's Config.Watched: whether an endpoint of account subscribes to an event
// a write-back may cause, so that write-backs of accounts without one read nothing more. It runs
// once per write-back, in its transaction (where sequential scans are off, see recalc's
// indexesOnly), so it is prepared: its plan, an index probe, is made once per connection.
func RecalcWatched(ctx context.Context, tx *gorm.DB, account uuid.UUID) (bool, error) {
	return watches(ctx, tx, models.Prepared(tx, [16]byte(account), recalcEvents)...)
}

// watches runs watchedSQL with args: the account and the events, prepared or not.
func watches(ctx context.Context, db *gorm.DB, args ...any) (bool, error) {
	var watched bool
	if err := db.WithContext(ctx).Raw(watchedSQL, args...).Row().Scan(&watched); err != nil {
		return false, fmt.Errorf("read webhook subscriptions: %w", err)
	}
	return watched, nil
}

// importEvents are the events finishing an import may cause.
var importEvents = []string{ImportCompleted, ImportCaughtUp}

// ImportWatched tells whether an endpoint of account subscribes to an event finishing an import
// may cause. A request that wrote nothing asks it first: when nothing is watched, its import is
// recorded by one statement, without a transaction's extra round trips (api's recordImport).
// Asked before that statement or inside its transaction, the read is its own snapshot under READ
// COMMITTED either way: an endpoint created while the import finishes may miss its event both ways.
func ImportWatched(ctx context.Context, db *gorm.DB, account uuid.UUID) (bool, error) {
	return watches(ctx, db, [16]byte(account), importEvents)
}

// RecalcWritten is recalc's write-back hook (recalc.Config.Written): in the write-back's
// transaction it records customer.mrr_changed for each MRR change and
// import.metrics_caught_up for each completed import the write-back caught up.
func RecalcWritten(ctx context.Context, tx *gorm.DB, w recalc.Written) error {
	var accounts []uuid.UUID
	for _, c := range w.MRR {
		accounts = append(accounts, c.Key.AccountID)
	}
	for _, r := range w.Imports {
		accounts = append(accounts, r.AccountID)
	}
	if len(accounts) == 0 {
		return nil
	}
	slices.SortFunc(accounts, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	accounts = slices.Compact(accounts)
	subs, err := subscriptions(ctx, tx, accounts)
	if err != nil || len(subs) == 0 {
		return err
	}
	for _, account := range accounts {
		if err := recordWritten(ctx, tx, account, subs[account], w); err != nil {
			return err
		}
	}
	return nil
}

// recordWritten records the events of w's changes of one account, given the types it wants.
func recordWritten(ctx context.Context, tx *gorm.DB, account uuid.UUID, want map[string]bool, w recalc.Written) error {
	var events []Event
	if want[MRRChanged] {
		for _, c := range w.MRR {
			if c.Key.AccountID == account {
				events = append(events, Event{Type: MRRChanged, Data: mrrChange(c, w.At)})
			}
		}
	}
	if want[ImportCaughtUp] {
		caught, err := caughtUp(ctx, tx, account, w.Imports)
		if err != nil {
			return err
		}
		events = append(events, caught...)
	}
	return Record(ctx, tx, account, w.At, events...)
}

// caughtUp returns import.metrics_caught_up events of the account's imports among refs that are
// completed and caught up.
func caughtUp(ctx context.Context, tx *gorm.DB, account uuid.UUID, refs []recalc.ImportRef) ([]Event, error) {
	var ids []uuid.UUID
	for _, r := range refs {
		if r.AccountID == account {
			ids = append(ids, r.ImportID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	if err := lockImports(ctx, tx, ids); err != nil {
		return nil, err
	}
	var events []Event
	for _, id := range ids {
		imp, err := imports.Get(ctx, tx, account, id)
		if models.ErrorCode(err) == models.ENOTFOUND { // forgotten by retention meanwhile
			continue
		}
		if err != nil {
			return nil, err
		}
		if imp.Status == imports.Completed && imp.Metrics.CaughtUpAt != nil {
			events = append(events, Event{Type: ImportCaughtUp, Subject: id.String(), Data: imp.Object()})
		}
	}
	return events, nil
}

// lockImports takes a transaction-scoped advisory lock per import, in one order (no deadlock
// between two transactions locking overlapping sets), released at commit.
func lockImports(ctx context.Context, tx *gorm.DB, ids []uuid.UUID) error {
	keys := make([]int64, len(ids))
	for i, id := range ids {
		keys[i] = int64(binary.BigEndian.Uint64(id[:8]))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	err := tx.WithContext(ctx).Exec(`SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest($1::bigint[]) AS k ORDER BY k) AS s`, keys).Error
	if err != nil {
		return fmt.Errorf("lock imports: %w", err)
	}
	return nil
}

// mrrChangeData is the data of a customer.mrr_changed event (SPEC 9).
type mrrChangeData struct {
	CustomerID   string    `json:"customer_id"`
	DataSource   string    `json:"data_source"`
	Currency     string    `json:"currency"`
	PreviousMRR  int64     `json:"previous_mrr_cents"`
	MRR          int64     `json:"mrr_cents"`
	Movement     string    `json:"movement"`
	CalculatedAt time.Time `json:"calculated_at"`
}

func mrrChange(c recalc.MRRChange, at time.Time) mrrChangeData {
	return mrrChangeData{CustomerID: c.Key.CustomerID, DataSource: c.Key.SourceID.String(), Currency: c.Currency,
		PreviousMRR: c.Previous, MRR: c.MRR, Movement: c.Movement, CalculatedAt: at.UTC()}
}
