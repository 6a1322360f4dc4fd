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

// dueAccountsSQL names the accounts with work: unfolded outbox rows (true), or queue rows due and
// not held (false); an account with both comes twice. It reads only, locks nothing, and on Citus
// runs on every shard in parallel.
const dueAccountsSQL = `
SELECT account_id, true FROM (SELECT DISTINCT account_id FROM recalc_outbox) o
UNION ALL
SELECT account_id, false FROM (
    SELECT DISTINCT account_id FROM recalc_queue
    WHERE run_at <= now() AND (locked_until IS NULL OR locked_until < now())) q`

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
	// unfolded holds the accounts whose outbox may hold rows to fold: found so by the last
	// discovery or named by a notification since. A visit folds only those (each fold is a
	// statement, and most visits of a small account find nothing to fold), unless foldAlways:
	// without notifications a write landing after a discovery would wait for the next one.
	unfolded   map[[16]byte]bool
	foldAlways bool
}

// markUnfolded marks account as having outbox rows to fold.
func (r *rotation) markUnfolded(account [16]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mark(account)
}

// mark is markUnfolded with r.mu held.
func (r *rotation) mark(account [16]byte) {
	if r.unfolded == nil {
		r.unfolded = map[[16]byte]bool{}
	}
	r.unfolded[account] = true
}

// needsFold reports whether a visit to account must fold its outbox first, and takes the
// account's mark: a write committed from now on marks it again (arrive).
func (r *rotation) needsFold(account [16]byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.foldAlways {
		return true
	}
	marked := r.unfolded[account]
	delete(r.unfolded, account)
	return marked
}

// arrive is told that account committed a write (a notification, see notify.go). An account
// without a turn joins the rotation and is served next, before the turn goes on; one with a turn
// already keeps it, so a busy account's stream of writes never takes other accounts' turns.
func (r *rotation) arrive(account [16]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mark(account) // even with a turn: its next visit folds
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

// set replaces the accounts (sorted by id) with those just read, and unfolded with those of them
// found with outbox rows.
func (r *rotation) set(accounts [][16]byte, unfolded map[[16]byte]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accounts, r.unfolded, r.at = accounts, unfolded, time.Now()
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
	accounts, unfolded, err := p.dueAccounts(ctx)
	if err != nil {
		return fmt.Errorf("find accounts with due recalculations: %w", err)
	}
	slices.SortFunc(accounts, func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) })
	p.rot.set(accounts, unfolded)
	return nil
}

// dueAccounts runs dueAccountsSQL: the accounts with due work, each once, and those of them with
// outbox rows.
func (p *Pool) dueAccounts(ctx context.Context) ([][16]byte, map[[16]byte]bool, error) {
	rows, err := p.db.SQL.QueryContext(ctx, dueAccountsSQL)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var accounts [][16]byte
	seen, unfolded := map[[16]byte]bool{}, map[[16]byte]bool{}
	for rows.Next() {
		var a uuid.UUID
		var outbox bool
		if err := rows.Scan(&a, &outbox); err != nil {
			return nil, nil, err
		}
		if outbox {
			unfolded[a] = true
		}
		if !seen[a] {
			seen[a] = true
			accounts = append(accounts, a)
		}
	}
	return accounts, unfolded, rows.Err()
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
	if p.rot.needsFold(account) {
		if _, err := p.fold(ctx, account); err != nil {
			p.rot.markUnfolded(account) // what it did not fold waits for the next visit
			return 0, 0, err
		}
	}
	if p.cfg.SmallClaim > 0 {
		if computed, claimed, handled, err := p.serveSmall(ctx, account); handled {
			return computed, claimed, err
		}
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
