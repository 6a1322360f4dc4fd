package recalc

import (
	"context"
	"fmt"
	"strconv"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/models"
)

// enqueueSQL appends one outbox row naming changed customers of one account and data source, and
// announces it on NotifyChannel: PostgreSQL delivers the notification when the transaction
// commits, and drops it when it rolls back. The payload is $4, the account's id, followed by
// "/" and the outbox row's id when the row names at most expressCustomers customers (see
// express.go). Announcing in the same statement costs the writer no extra round trip. On Citus
// pg_notify runs on the coordinator, where the service's LISTEN connections are.
var enqueueSQL = `
WITH o AS (
    INSERT INTO recalc_outbox (account_id, source_id, customer_ids) VALUES ($1, $2, $3) RETURNING id
)` + notifySQL

// enqueueImportSQL is enqueueSQL for a write of import $5, which also counts the customers as
// queued and pending for that import (see progress.go), in the same statement: a writer pays no
// extra round trip, and appends only (no row lock anybody waits for).
var enqueueImportSQL = `
WITH o AS (
    INSERT INTO recalc_outbox (account_id, source_id, customer_ids, import_id) VALUES ($1, $2, $3, $5) RETURNING id
), p AS (
    INSERT INTO recalc_import_progress (account_id, import_id, customers, pending, at)
    VALUES ($1, $5, cardinality($3::text[]), cardinality($3::text[]), clock_timestamp())
)` + notifySQL

// notifySQL is the query of enqueueSQL: the WITH items run although it reads only o (a
// data-modifying WITH always runs to completion).
var notifySQL = `
SELECT pg_notify('` + NotifyChannel + `', $4 || coalesce((SELECT '/' || o.id FROM o
    WHERE cardinality($3::text[]) <= ` + strconv.Itoa(expressCustomers) + `), ''))`

// Enqueue records, in the caller's GORM transaction, that the customers changed (transactional outbox):
// if the transaction commits, the customers will be recalculated, also after a crash; if it rolls
// back, nothing is recorded. It appends one recalc_outbox row per account and data source in keys
// (in practice one), with the customers de-duplicated; workers fold outbox rows into recalc_queue
// (see fold). Empty keys run no statement.
//
// Appending locks nothing another writer or a worker waits for, so concurrent imports of the same
// customers do not serialize on their commits, and a writer's cost does not grow with how busy
// the queue is. The commit wakes idle workers listening for it (see notify.go); the others find
// the rows on their next poll.
func Enqueue(ctx context.Context, tx *gorm.DB, keys []CustomerKey) error {
	return EnqueueImport(ctx, tx, uuid.Nil, keys)
}

// EnqueueImport is Enqueue for a write of an import (uuid.Nil: none): the outbox rows name the
// import, and its progress counts the customers as pending until their metrics reflect it.
func EnqueueImport(ctx context.Context, tx *gorm.DB, importID uuid.UUID, keys []CustomerKey) error {
	for len(keys) > 0 {
		account, source := keys[0].AccountID, keys[0].SourceID
		var ids []string
		ids, keys = customersOf(keys, account, source)
		// De-duplicated, in no particular order: whoever reads the row orders what it takes
		// (sorting a write's thousand names cost its server as much as the statement).
		query, args := enqueueSQL, []any{[16]byte(account), [16]byte(source), models.TextArray(ids), account.String()}
		if importID != uuid.Nil {
			query, args = enqueueImportSQL, append(args, [16]byte(importID))
		}
		if err := tx.WithContext(ctx).Exec(query, models.Prepared(tx, args...)...).Error; err != nil {
			return fmt.Errorf("enqueue recalculation: %w", err)
		}
	}
	return nil
}

// customersOf returns the distinct customers that keys name in account and source, and the keys
// of other accounts and sources, in their order. A write has one data source nearly always, so
// the loop over sources this serves runs once.
func customersOf(keys []CustomerKey, account, source uuid.UUID) (ids []string, rest []CustomerKey) {
	seen := make(map[string]struct{}, len(keys))
	ids = make([]string, 0, len(keys))
	for _, k := range keys {
		if k.AccountID != account || k.SourceID != source {
			rest = append(rest, k)
			continue
		}
		if _, dup := seen[k.CustomerID]; !dup {
			seen[k.CustomerID] = struct{}{}
			ids = append(ids, k.CustomerID)
		}
	}
	return ids, rest
}
