package recalc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"invoice-ingest/models"
)

// Small claims. A visit to an account with few customers due (Config.SmallClaim or fewer) does
// all of its work in one transaction: it locks the due rows (FOR UPDATE SKIP LOCKED), loads,
// computes and writes back under those locks, and commits. A lease is for work that outlives a
// transaction; this work does not, and its row locks protect it as a lease would: no other claim
// takes the rows (SKIP LOCKED), a fold bumping one of them waits for the commit (then queues the
// customer again: a write during the computation still means one more run), and if the process
// dies the transaction ends and the rows are free at once, not after a lease. What it saves a
// small account's visit is a claim that commits on its own (an UPDATE of every claimed row, and
// its WAL flush), the statement that locks the claimed rows again in the write-back, and the
// planning of the claim and of the load, which inside a transaction that rules sequential scans
// out can run as prepared statements (see indexesOnly).
//
// Anything else goes the leased way (claim, heartbeat, write-back, retries split down to single
// customers): more customers due than a small claim takes, a row whose lease expired (a worker
// died or overran: its rows may still be settled by it, so they are left to the token checks of
// the leased way), and a small claim whose transaction failed for a reason other than the
// database being unreachable, so that one customer whose data breaks a statement is isolated as
// before.

// DefaultSmallClaim is Config.SmallClaim when zero.
const DefaultSmallClaim = 100

// errNotSmall rolls back a small claim that found work it leaves to the leased way.
var errNotSmall = errors.New("not a small claim")

// lockDueSQL locks up to $2 due customers of account $1 that no live claim holds, oldest run_at
// first, skipping rows another transaction holds, and says for each whether a claim (an expired
// one) still names it.
const lockDueSQL = `
SELECT source_id, customer_id, version, locked_by IS NOT NULL
FROM recalc_queue
WHERE account_id = $1 AND run_at <= now() AND (locked_until IS NULL OR locked_until < now())
ORDER BY run_at
LIMIT $2
FOR UPDATE SKIP LOCKED`

// serveSmall serves account with a small claim when its due work is small; handled is false when
// the work is left to the leased way (see above), which then claims it as usual.
func (p *Pool) serveSmall(ctx context.Context, account [16]byte) (computed, claimed int, handled bool, err error) {
	var w *writeBack
	t := p.cfg.Now()
	// Like a leased batch, a small claim under way when ctx ends gets the stop grace to finish.
	gctx, cancel := p.graceful(ctx)
	defer cancel()
	err = p.db.Gorm.WithContext(gctx).Transaction(func(tx *gorm.DB) (err error) {
		defer p.recoverBatch(&err) // rolled back, then retried leased as a failure is
		if err := tx.WithContext(gctx).Exec(indexesOnly).Error; err != nil {
			return err
		}
		items, err := p.lockDue(gctx, tx, account)
		if err != nil || len(items) == 0 {
			return err
		}
		claimed = len(items)
		if w, err = p.computeIn(gctx, tx, items, t); err != nil {
			return err
		}
		return p.writeIn(gctx, tx, w, "", t)
	})
	switch {
	case errors.Is(err, errNotSmall):
		return 0, 0, false, nil
	case err != nil && (gctx.Err() != nil || models.IsUnavailable(err)):
		return 0, 0, true, fmt.Errorf("small claim: %w", err)
	case err != nil:
		p.cfg.Log.Warn("recalc: small claim failed, retried with a lease", "account", fmt.Sprintf("%x", account), "err", err)
		return 0, 0, false, nil
	case w == nil:
		return 0, 0, true, nil // nothing due
	}
	p.wrote(w)
	return len(w.written), claimed, true, nil
}

// lockDue runs lockDueSQL for one more customer than a small claim takes; errNotSmall when it
// finds more, or a row an expired claim still names.
func (p *Pool) lockDue(ctx context.Context, tx *gorm.DB, account [16]byte) ([]item, error) {
	limit := p.cfg.SmallClaim + 1
	rows, err := tx.WithContext(ctx).Raw(lockDueSQL, models.Prepared(tx, account, limit)...).Rows()
	if err != nil {
		return nil, fmt.Errorf("lock due customers: %w", err)
	}
	defer rows.Close()
	var items []item
	for rows.Next() {
		it := item{key: CustomerKey{AccountID: account}}
		var leased bool
		if err := rows.Scan(&it.key.SourceID, &it.key.CustomerID, &it.version, &leased); err != nil {
			return nil, fmt.Errorf("scan due customer: %w", err)
		}
		if leased {
			return nil, errNotSmall
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lock due customers: %w", err)
	}
	if len(items) >= limit {
		return nil, errNotSmall
	}
	sortItems(items)
	return items, nil
}

// computeIn loads and computes items in tx, which holds their rows, and sorts the results for
// the write-back: every customer is still the claim's, at the version it was locked at.
func (p *Pool) computeIn(ctx context.Context, tx *gorm.DB, items []item, t time.Time) (*writeBack, error) {
	if p.hooks.claimed != nil {
		p.hooks.claimed(keysOf(items))
	}
	// Customers past the invoice cap stay locked, untouched, until the commit: the next visit
	// takes them.
	invoices, kept, err := models.MetricInvoicesIn(ctx, tx, items[0].key.AccountID, keysOf(items), p.invoiceCap())
	if err != nil {
		return nil, err
	}
	items = items[:kept]
	results, err := p.compute(ctx, invoices, items, t)
	if err != nil {
		return nil, err
	}
	versions := make([]int64, len(items))
	for i, it := range items {
		versions[i] = it.version
	}
	return planWrite(items, results, versions), nil
}
