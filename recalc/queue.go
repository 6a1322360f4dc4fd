package recalc

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"invoice-ingest/models"
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

// sameKey is the SQL condition that table (alias) a holds the customer of keys (alias) b of the
// account $1: the account is a scalar parameter, never a column of b, so that on Citus the
// statement is routed to that account's shard alone (docs/scaling.md).
func sameKey(a, b string) string {
	return a + ".account_id = $1 AND " + a + ".source_id = " + b + ".source_id AND " +
		a + ".customer_id = " + b + ".customer_id"
}

// keysFrom is the FROM item of keys $2 (sources) and $3 (customers) as alias(source_id,
// customer_id, more...), with arrays more (such as "$4::bigint[]") zipped alongside.
func keysFrom(alias string, more ...string) string {
	arrays, cols := "$2::uuid[], $3::text[]", "source_id, customer_id"
	for i, m := range more {
		arrays += ", " + m
		cols += ", x" + strconv.Itoa(i+1)
	}
	return "unnest(" + arrays + ") AS " + alias + "(" + cols + ")"
}

// updateQueueSQL sets set on the queue rows (q) of account $1 whose source_id and customer_id the
// query rows selects and locks. Locking in a
// subquery first is what lets the caller choose the order (or SKIP LOCKED): an UPDATE on its own
// locks rows in whatever order its plan visits them.
func updateQueueSQL(set, rows string) string {
	return `
UPDATE recalc_queue q SET ` + set + `
FROM (` + rows + `
) l
WHERE ` + sameKey("q", "l")
}

// heldBy is the condition that queue row alias is held by the claim whose token is parameter
// param (see holder): a NULL token names the rows no claim holds, which only a transaction that
// locked them itself (small.go) settles.
func heldBy(alias, param string) string {
	return alias + ".locked_by IS NOT DISTINCT FROM " + param + "::text"
}

// holder is the parameter heldBy compares with: token, or NULL for "".
func holder(token string) any {
	if token == "" {
		return nil
	}
	return token
}

// unlock is the SET clause that gives a queue row back: no lease, no holder.
const unlock = "locked_until = NULL, locked_by = NULL"

// keyArrays holds keys of one account: the account, and the rest column-wise, the shape
// $1::uuid, unnest($2::uuid[], $3::text[]) takes: one statement for any number of customers, with a
// fixed text, so its plan is cached. Every batch of this package is of one account (a claim is),
// which each statement names as a scalar (see sameKey). Uuids go to pgx as [16]byte, which it
// encodes natively; uuid.UUID would be sent through its text Valuer.
type keyArrays struct {
	account   [16]byte
	sources   [][16]byte
	customers []string
}

// arraysOf splits keys, all of one account, into columns, keeping their order.
func arraysOf(keys []CustomerKey) keyArrays {
	a := keyArrays{sources: make([][16]byte, len(keys)), customers: make([]string, len(keys))}
	for i, k := range keys {
		a.account, a.sources[i], a.customers[i] = k.AccountID, k.SourceID, k.CustomerID
	}
	return a
}

// grow makes room for n more keys: a write-back's metrics arrays hold a row per currency of a
// thousand customers, and growing such arrays append by append (the history's, when it was a row
// per month) was a third of a worker's CPU.
func (a *keyArrays) grow(n int) {
	a.sources = slices.Grow(a.sources, n)
	a.customers = slices.Grow(a.customers, n)
}

// add appends key, of the account of the keys added before it.
func (a *keyArrays) add(key CustomerKey) {
	a.account = key.AccountID
	a.sources = append(a.sources, key.SourceID)
	a.customers = append(a.customers, key.CustomerID)
}

// keyArgs returns a statement's arguments: keys' account as $1, their sources and customers
// column-wise as $2 and $3, then more.
func keyArgs(keys []CustomerKey, more ...any) []any {
	a := arraysOf(keys)
	return append([]any{a.account, a.sources, a.customers}, more...)
}
