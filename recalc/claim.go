package recalc

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// item is one claimed customer with the queue version the claim saw. The version is what write-back
// compares against: a different one means a write landed while the customer was being computed.
type item struct {
	key     CustomerKey
	version int64
}

// claim is a batch of queue rows this pool holds. token is what their locked_by says:
// WorkerID#nonce.n, unique per claim, so that even two claims of one pool never mistake each other's
// rows for their own, and an operator can still tell which process holds a row.
type claim struct {
	token string
	items []item // sorted by compareKeys
}

// claimSQL takes up to $4 due, unclaimed (or expired) customers of account $1, oldest run_at first,
// and marks them held by $2 for the lease $3 (microseconds). It runs as its own transaction and
// commits at once: the claim is the lease columns, not a row lock, so a fold never waits behind a
// computation. SKIP LOCKED makes concurrent claimers take disjoint rows without waiting, and skips
// rows a fold is bumping right now (they are claimed on a later poll). The rows locked are then
// updated by their ctid (still theirs: the lock keeps anyone else from moving them), the account
// named as well so that on Citus the statement stays on that account's shard: a plan PostgreSQL
// makes in about half the time a join of the locked keys back to the queue took, paid at every
// claim (a small account's visit claims once; docs/metrics.md).
//
// Due and expired are judged by the database's clock, the one clock every process shares.
var claimSQL = `
UPDATE recalc_queue q
SET locked_until = now() + $3::bigint * interval '1 microsecond', locked_by = $2
WHERE q.account_id = $1 AND q.ctid = ANY (ARRAY(
    SELECT ctid FROM recalc_queue
    WHERE account_id = $1 AND run_at <= now() AND (locked_until IS NULL OR locked_until < now())
    ORDER BY run_at
    LIMIT $4
    FOR UPDATE SKIP LOCKED))
RETURNING q.source_id, q.customer_id, q.version`

// claim takes the next batch of account; an empty claim when none of its customers is due.
func (p *Pool) claim(ctx context.Context, account [16]byte) (*claim, error) {
	c := &claim{token: p.prefix + strconv.FormatUint(p.seq.Add(1), 10)}
	rows, err := p.db.SQL.QueryContext(ctx, claimSQL, account, c.token, p.cfg.Lease.Microseconds(), p.cfg.BatchSize)
	if err != nil {
		return nil, fmt.Errorf("claim recalculations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		it := item{key: CustomerKey{AccountID: account}}
		if err := rows.Scan(&it.key.SourceID, &it.key.CustomerID, &it.version); err != nil {
			return nil, fmt.Errorf("scan claim: %w", err)
		}
		c.items = append(c.items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim recalculations: %w", err)
	}
	sortItems(c.items)
	return c, nil
}

// sortItems puts items in key order: every later statement on their rows locks them in that order
// (see compareKeys).
func sortItems(items []item) {
	slices.SortFunc(items, func(a, b item) int { return compareKeys(a.key, b.key) })
}

// keysOf returns the keys of items, in their order.
func keysOf(items []item) []CustomerKey {
	keys := make([]CustomerKey, len(items))
	for i, it := range items {
		keys[i] = it.key
	}
	return keys
}

// heldSQL selects cols of the queue rows q among the keys $1..$3 (c, numbered c.n in their order)
// that claim $4 still holds, locking them with lock. Every statement that settles or extends a claim
// starts from it: a row no longer ours (its lease expired and another worker took it, or finished
// it) is neither returned nor locked, so a late worker never touches another claim's row.
//
// Each key is one primary-key probe (a LATERAL subquery, which OFFSET 0 keeps from being
// flattened into a join: the planner, trusting statistics of a queue that changes faster than
// they do, joined the keys to every queued row of the account, or scanned those rows once per key,
// for each batch). The probes run, and lock, in the order of the keys, which callers pass in the
// one global order (see compareKeys): a transaction locking them waits for a fold bumping several
// of them instead of deadlocking with it.
func heldSQL(cols, lock string) string {
	return `
SELECT ` + cols + `
FROM unnest($2::uuid[], $3::text[]) WITH ORDINALITY AS c(source_id, customer_id, n),
     LATERAL (SELECT t.source_id, t.customer_id, t.version FROM recalc_queue t
              WHERE ` + sameKey("t", "c") + ` AND t.locked_by = $4
              OFFSET 0 ` + lock + `) q`
}

// lockInKeyOrder locks heldSQL's rows, in the order of its keys.
const lockInKeyOrder = "FOR UPDATE"

// heldKeys are the columns heldSQL returns for updateQueueSQL.
const heldKeys = "q.source_id, q.customer_id"

// ownedSQL returns, for each key still held by claim $4, its ordinal and the row's version, having
// locked the rows in key order: the statements that follow it in the same transaction find their
// rows locked already.
var ownedSQL = heldSQL("c.n, q.version", lockInKeyOrder)

// releaseSQL gives back, without counting an attempt, the rows among $1..$3 still held by claim
// $4, so any worker may take them at once.
var releaseSQL = updateQueueSQL(unlock, heldSQL(heldKeys, lockInKeyOrder))

// release gives back what is left of claim c: the rows it still holds, whatever part of the batch
// was finished (deleted), failed or released already.
func (p *Pool) release(ctx context.Context, c *claim) error {
	if p.hooks.release != nil {
		if err := p.hooks.release(c.token); err != nil {
			return fmt.Errorf("release claim: %w", err)
		}
	}
	if _, err := p.db.SQL.ExecContext(ctx, releaseSQL, keyArgs(keysOf(c.items), c.token)...); err != nil {
		return fmt.Errorf("release claim: %w", err)
	}
	return nil
}

// shed gives back the customers of items, held by claim token, whose invoices did not fit under
// Config.BatchInvoices: they are due still, and another worker (woken here if it is this pool's
// and idle) or a later batch takes them at once, instead of them waiting behind this batch.
// Nothing when items is empty.
func (p *Pool) shed(ctx context.Context, token string, items []item) error {
	if len(items) == 0 {
		return nil
	}
	if _, err := p.db.SQL.ExecContext(ctx, releaseSQL, keyArgs(keysOf(items), token)...); err != nil {
		return fmt.Errorf("give back customers past the batch's invoices: %w", err)
	}
	p.wake.wake()
	return nil
}

// extendSQL pushes the lease of the rows still held by claim $4 to now() + $5 microseconds. SKIP
// LOCKED: a row a fold (or our own write-back) holds is skipped rather than waited
// for; the next heartbeat catches it, well before the lease ends.
var extendSQL = updateQueueSQL("locked_until = now() + $5::bigint * interval '1 microsecond'",
	heldSQL(heldKeys, "FOR UPDATE SKIP LOCKED"))

// keepLease extends claim c's lease every heartbeat until the returned stop is called, so a
// batch slower than the lease (a slow database, a huge customer) is not taken over and computed
// twice. A worker that dies stops extending, and its claims expire after at most one lease.
func (p *Pool) keepLease(ctx context.Context, c *claim) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	// Customers the batch gives back meanwhile (shed) are no longer held by the claim: the
	// extension skips their rows.
	args := keyArgs(keysOf(c.items), c.token, p.cfg.Lease.Microseconds())
	go func() {
		defer close(done)
		tick := time.NewTicker(p.heartbeat)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			res, err := p.db.SQL.ExecContext(ctx, extendSQL, args...)
			if err != nil && ctx.Err() == nil {
				p.cfg.Log.Warn("recalc: extend lease", "err", err, "claim", c.token)
			}
			if err == nil && p.hooks.extended != nil {
				n, _ := res.RowsAffected()
				p.hooks.extended(n)
			}
		}
	}()
	return func() { cancel(); <-done }
}
