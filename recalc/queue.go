package recalc

import (
	"bytes"
	"invoice-ingest/models"
	"strings"
)

// CustomerKey names one customer.
type CustomerKey = models.CustomerKey

// compareKeys orders keys by account, source, then customer id, byte-wise. It is the order in
// which every statement of this package that locks several queue rows takes its locks: PostgreSQL
// compares uuids with memcmp and, under COLLATE "C", text byte-wise, so "ORDER BY account_id,
// source_id, customer_id COLLATE "C"" agrees with it. One global order means two transactions
// locking overlapping sets of queue rows wait for each other instead of deadlocking.
func compareKeys(a, b CustomerKey) int {
	if c := bytes.Compare(a.AccountID[:], b.AccountID[:]); c != 0 {
		return c
	}
	if c := bytes.Compare(a.SourceID[:], b.SourceID[:]); c != 0 {
		return c
	}
	return strings.Compare(a.CustomerID, b.CustomerID)
}

// keyOrder is the SQL spelling of compareKeys for a table (alias) holding the key columns.
func keyOrder(alias string) string {
	return alias + ".account_id, " + alias + ".source_id, " + alias + `.customer_id COLLATE "C"`
}

// sameKey is the SQL condition that tables (aliases) a and b hold the same customer.
func sameKey(a, b string) string {
	return a + ".account_id = " + b + ".account_id AND " + a + ".source_id = " + b + ".source_id AND " +
		a + ".customer_id = " + b + ".customer_id"
}

// updateQueueSQL sets set on the queue rows (q) that the query rows selects and locks. Locking in a
// subquery first is what lets the caller choose the order (or SKIP LOCKED): an UPDATE on its own
// locks rows in whatever order its plan visits them.
func updateQueueSQL(set, rows string) string {
	return `
UPDATE recalc_queue q SET ` + set + `
FROM (` + rows + `
) l
WHERE ` + sameKey("q", "l")
}

// unlock is the SET clause that gives a queue row back: no lease, no holder.
const unlock = "locked_until = NULL, locked_by = NULL"

// keyArrays holds keys column-wise, the shape unnest($1::uuid[], $2::uuid[], $3::text[]) takes:
// one statement for any number of customers, with a fixed text, so its plan is cached. Uuids go to
// pgx as [16]byte, which it encodes natively; uuid.UUID would be sent through its text Valuer.
type keyArrays struct {
	accounts  [][16]byte
	sources   [][16]byte
	customers []string
}

// arraysOf splits keys into columns, keeping their order.
func arraysOf(keys []CustomerKey) keyArrays {
	a := keyArrays{
		accounts:  make([][16]byte, len(keys)),
		sources:   make([][16]byte, len(keys)),
		customers: make([]string, len(keys)),
	}
	for i, k := range keys {
		a.accounts[i], a.sources[i], a.customers[i] = k.AccountID, k.SourceID, k.CustomerID
	}
	return a
}

// add appends key.
func (a *keyArrays) add(key CustomerKey) {
	a.accounts = append(a.accounts, key.AccountID)
	a.sources = append(a.sources, key.SourceID)
	a.customers = append(a.customers, key.CustomerID)
}

// keyArgs returns a statement's arguments: keys column-wise as $1..$3, then more.
func keyArgs(keys []CustomerKey, more ...any) []any {
	a := arraysOf(keys)
	return append([]any{a.accounts, a.sources, a.customers}, more...)
}
