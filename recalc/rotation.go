package recalc

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Per-account recalculation. Every statement on the queue names one account as a scalar, so that
// on Citus each transaction touches that account's shard alone (docs/scaling.md). A lock-free read
// finds the accounts with due work; the claim loops of a pool then serve them in turn, each visit
// folding the account's outbox and claiming at most one batch (BatchSize customers) of it. An
// account with a hundred times the work of another gets a hundred times the visits, not the
// other's share: both progress at the same pace of batches until the smaller one is done.

// rediscoverEvery bounds how long a pool keeps serving the accounts it found before it looks
// again: an account whose first write lands while a large one drains waits at most this long
// (plus the rest of the round) for its first visit.
const rediscoverEvery = time.Second

// dueAccountsSQL names the accounts with work: unfolded outbox rows, or queue rows due and not
// held. It reads only, locks nothing, and on Citus runs on every shard in parallel.
const dueAccountsSQL = `
SELECT account_id FROM recalc_outbox
UNION
SELECT account_id FROM recalc_queue WHERE run_at <= now() AND (locked_until IS NULL OR locked_until < now())`

// maxArrivals bounds the accounts waiting for a first visit out of turn (see arrive); past it a new
// account waits for the next discovery, as it would without notifications.
const maxArrivals = 1000

// rotation is the accounts a pool serves in turn, ordered by id, and where the turn is.
type rotation struct {
	mu       sync.Mutex
	accounts [][16]byte
	last     [16]byte   // the account served last: the next turn is the first account after it
	at       time.Time  // when accounts were read; zero: never
	arrived  [][16]byte // accounts a notification named that had no turn: served first, once each
}

// arrive is told that account committed a write (a notification, see notify.go). An account
// without a turn joins the rotation and is served next, before the turn goes on; one with a turn
// already keeps it, so a busy account's stream of writes never takes other accounts' turns.
func (r *rotation) arrive(account [16]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, found := slices.BinarySearchFunc(r.accounts, account, func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) })
	if found || len(r.arrived) >= maxArrivals {
		return
	}
	r.accounts = slices.Insert(r.accounts, i, account)
	r.arrived = append(r.arrived, account)
}

// take returns the account whose turn it is, and passes the turn on; false when there is none or
// the list is older than rediscoverEvery. Accounts that arrived go first.
func (r *rotation) take() ([16]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.arrived) > 0 {
		a := r.arrived[0]
		r.arrived = r.arrived[1:]
		return a, true
	}
	if len(r.accounts) == 0 || time.Since(r.at) > rediscoverEvery {
		return [16]byte{}, false
	}
	i, _ := slices.BinarySearchFunc(r.accounts, r.last, func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) })
	if i < len(r.accounts) && r.accounts[i] == r.last {
		i++
	}
	if i == len(r.accounts) {
		i = 0
	}
	r.last = r.accounts[i]
	return r.last, true
}

// set replaces the accounts (sorted by id) with those just read.
func (r *rotation) set(accounts [][16]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accounts, r.at = accounts, time.Now()
}

// drop takes account out of the turns: it had nothing due.
func (r *rotation) drop(account [16]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accounts = slices.DeleteFunc(r.accounts, func(a [16]byte) bool { return a == account })
	r.arrived = slices.DeleteFunc(r.arrived, func(a [16]byte) bool { return a == account })
}

// discover reads the accounts with due work into the rotation, and the database's clock (see
// dbNow).
func (p *Pool) discover(ctx context.Context) error {
	var now time.Time
	if err := p.db.SQL.QueryRowContext(ctx, `SELECT now()`).Scan(&now); err != nil {
		return fmt.Errorf("read database clock: %w", err)
	}
	p.clockOffset.Store(int64(time.Until(now)))
	accounts, err := p.accounts(ctx, dueAccountsSQL)
	if err != nil {
		return fmt.Errorf("find accounts with due recalculations: %w", err)
	}
	slices.SortFunc(accounts, func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) })
	p.rot.set(accounts)
	return nil
}

// accounts runs query, which selects account ids, and returns them.
func (p *Pool) accounts(ctx context.Context, query string, args ...any) ([][16]byte, error) {
	rows, err := p.db.SQL.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var accounts [][16]byte
	for rows.Next() {
		var a uuid.UUID
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		accounts = append(accounts, a)
	}
	return accounts, rows.Err()
}

// dbNow is the database's clock as last read by discover, for the statements that must not call
// now() beside columns (Citus refuses it): the fold making a backed-off row due, a failure's next
// attempt. Before the first read it is this process's clock.
func (p *Pool) dbNow() time.Time {
	return time.Now().Add(time.Duration(p.clockOffset.Load()))
}

// runOnce serves the next account with due work: it folds that account's outbox into the queue,
// then claims and processes at most one batch of it. It returns how many customers it computed
// (whose metrics it wrote) and how many it claimed, so the worker loop can tell an empty queue
// (0 claimed: no account has anything due) from a batch that failed. Accounts found with nothing
// due leave the rotation; the accounts are read again (lock-free) when none is left or the list is
// older than rediscoverEvery, at most once per call.
//
// Customers whose computation fails are recorded in the queue (attempts, last_error, a later
// run_at) and do not make runOnce fail; it returns an error when it could not claim, or could not
// record or release the outcome (the release is then retried, see release.go).
func (p *Pool) runOnce(ctx context.Context) (computed, claimed int, err error) {
	discovered := false
	for {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		account, ok := p.rot.take()
		if !ok {
			if discovered {
				return 0, 0, nil
			}
			if err := p.discover(ctx); err != nil {
				return 0, 0, err
			}
			discovered = true
			continue
		}
		computed, claimed, err := p.serve(ctx, account)
		if err != nil || claimed > 0 {
			return computed, claimed, err
		}
		p.rot.drop(account)
	}
}

// serve folds account's outbox, then claims and processes at most one batch of its customers.
func (p *Pool) serve(ctx context.Context, account [16]byte) (computed, claimed int, err error) {
	// Writes name their customers in the outbox; queue them before claiming, so a write is
	// claimable on the very visit that first sees it.
	if _, err := p.fold(ctx, account); err != nil {
		return 0, 0, err
	}
	c, err := p.claim(ctx, account)
	if err != nil || len(c.items) == 0 {
		return 0, 0, err
	}
	pctx, cancel := p.graceful(ctx)
	defer cancel()
	n, err := p.process(pctx, c)
	return n, len(c.items), err
}
