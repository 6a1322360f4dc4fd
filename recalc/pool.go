package recalc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"invoice-ingest/models"
)

// defaultStopGrace is how long a batch in flight when Run's context ends may still take to finish;
// past it the batch is abandoned and its claims released. It is far longer than a batch takes, so
// it only bites when the database hangs.
const defaultStopGrace = 10 * time.Second

// releaseTimeout bounds the statements that give claims back after a stop or a failure: they must
// not hang a shutdown, and claims they fail to release expire after the lease anyway.
const releaseTimeout = 5 * time.Second

// maxIdle caps the wait between polls after consecutive errors (database down).
const maxIdle = 5 * time.Second

// Pool runs workers and the sweep.
//
// A Pool is safe for concurrent use, and several Pools (in one process or many) may share one queue.
type Pool struct {
	db     *models.DB
	cfg    Config
	prefix string        // WorkerID#nonce., the start of every token of this pool
	seq    atomic.Uint64 // numbers claims, see claim.token

	stopGrace time.Duration
	// heartbeat is how often a batch in flight extends its lease: a third of the lease, so a beat or
	// two may fail before the lease runs out.
	heartbeat time.Duration
	hooks     hooks

	relMu   sync.Mutex
	pending []pendingRelease // claims whose release failed, see release.go

	rot         rotation      // the accounts the claim loops serve in turn, see rotation.go
	wake        waker         // wakes idle claim loops when a write commits, see notify.go
	express     *expressQueue // small writes announced, for the express lane (express.go)
	clockOffset atomic.Int64  // the database's clock minus ours, in nanoseconds, see dbNow
}

// hooks let in-package tests watch and disturb a batch at fixed points: a test waits for the event
// a hook signals rather than for time to pass, so no test depends on how fast its machine is. All
// nil in production.
type hooks struct {
	claimed     func(keys []CustomerKey)                            // after a claim committed
	compute     func(key CustomerKey) error                         // per customer, before Compute; an error or panic fails it
	beforeWrite func(ctx context.Context, keys []CustomerKey) error // after computing, before write-back; an error fails the attempt
	written     func(finished []CustomerKey)                        // after a write-back committed, with the customers it took off the queue
	extended    func(rows int64)                                    // after a heartbeat extended the lease of rows queue rows
	release     func(token string) error                            // before a release; an error fails it as an outage would
	// releaseRetried is told the outcome of each retry of a release that had failed.
	releaseRetried func(token string, err error)
	idle           func()          // a claim loop found nothing due and is about to wait
	listening      func()          // the LISTEN connection is open and listening
	unlistened     func(err error) // the LISTEN connection failed or was lost
}

// NewPool returns a pool working on db's queue; cfg's zero fields get defaults.
func NewPool(db *models.DB, cfg Config) *Pool {
	cfg = cfg.withDefaults()
	// The nonce keeps tokens unique even if two live pools were configured with one WorkerID.
	nonce := make([]byte, 4)
	_, _ = rand.Read(nonce)
	p := &Pool{db: db, cfg: cfg, prefix: cfg.WorkerID + "#" + hex.EncodeToString(nonce) + ".",
		stopGrace: defaultStopGrace, heartbeat: max(cfg.Lease/3, time.Millisecond), express: newExpressQueue()}
	p.rot.foldAlways = cfg.Listen == nil // no notifications: see rotation.unfolded
	return p
}

// Run blocks until ctx is done; then it stops claiming, finishes or releases claimed work
// (releases: sets locked_until = NULL for claims it won't finish), and returns. Returns nil on a
// clean stop.
//
// It runs Config.Workers claim loops, one sweep loop and, with Config.Listen, the LISTEN
// connection that wakes the claim loops when a write commits and the express lane (express.go).
// A batch in flight when ctx ends gets a grace period to finish (its computation is usually done
// by then); if it cannot, its claims are released so another process takes them at once instead
// of after the lease. The only error it returns is a failure to release this pool's claims at the
// end (database down); they then expire after the lease.
func (p *Pool) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range p.cfg.Workers {
		wg.Go(func() { p.work(ctx) })
	}
	wg.Go(func() { p.sweepLoop(ctx) })
	if p.cfg.Listen != nil {
		wg.Go(func() { p.listen(ctx) })
		wg.Go(func() { p.expressLoop(ctx) })
	}
	wg.Wait()
	// Every batch releases what it did not finish; this catches what a failed release left behind.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if err := p.releaseAll(rctx); err != nil {
		return err
	}
	p.forgetPending()
	return nil
}

// graceful returns a context that outlives ctx by the stop grace period: a batch already claimed
// is worth finishing, since releasing it only makes another worker redo the same work.
func (p *Pool) graceful(ctx context.Context) (context.Context, context.CancelFunc) {
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		select {
		case <-pctx.Done():
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(p.stopGrace)
		defer t.Stop()
		select {
		case <-pctx.Done():
		case <-t.C:
			cancel()
		}
	}()
	return pctx, cancel
}

// process computes and writes claim c, keeping its lease alive meanwhile. On an error it could not
// record (stopping, database gone) it releases what is left of the claim.
func (p *Pool) process(ctx context.Context, c *claim) (int, error) {
	if p.hooks.claimed != nil {
		p.hooks.claimed(keysOf(c.items))
	}
	stop := p.keepLease(ctx, c)
	n, err := p.attempt(ctx, c.token, c.items, p.cfg.Now())
	stop()
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if rerr := p.releaseOrKeep(rctx, c); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return n, err
}

// attempt computes and writes items at t. Its load stops at Config.BatchInvoices: the customers
// past the cap are given back at once (shed), for another worker or a later batch. When the rest
// fails as a whole for a reason other than the database being unreachable, it is split in halves
// and each retried, down to single customers, which are then recorded as failed: one customer
// whose data breaks a statement costs about 2·log2(batch) extra attempts and holds back nobody
// else. An unreachable database fails every item at once, since splitting cannot help. The
// instant t is kept across retries, so all customers of a claim are computed at the same t.
func (p *Pool) attempt(ctx context.Context, token string, items []item, t time.Time) (int, error) {
	n, kept, err := p.computeAndWrite(ctx, token, items, t)
	if err == nil {
		return n, nil
	}
	if ctx.Err() != nil {
		return 0, err // stopping: process releases the rest
	}
	if len(kept) == 1 || models.IsUnavailable(err) {
		if ferr := p.fail(ctx, token, kept, err); ferr != nil {
			return 0, errors.Join(err, ferr)
		}
		return 0, nil
	}
	half := len(kept) / 2
	n1, err1 := p.attempt(ctx, token, kept[:half], t)
	n2, err2 := p.attempt(ctx, token, kept[half:], t)
	return n1 + n2, errors.Join(err1, err2)
}

// computeAndWrite is one attempt at items: load (up to the invoice cap, shedding the customers
// past it), compute, write back. kept is the items it did not shed, which a failed attempt
// retries. A panic anywhere in it is an error of the attempt, never a crash.
func (p *Pool) computeAndWrite(ctx context.Context, token string, items []item, t time.Time) (n int, kept []item, err error) {
	defer p.recoverBatch(&err)
	kept = items
	invoices, k, err := p.load(ctx, items)
	if err != nil {
		return 0, kept, err
	}
	if err := p.shed(ctx, token, items[k:]); err != nil {
		return 0, kept, err
	}
	kept = items[:k:k]
	results, err := p.compute(ctx, invoices, kept, t)
	if err != nil {
		return 0, kept, err
	}
	n, err = p.write(ctx, token, kept, results, t)
	return n, kept, err
}

// compute computes items from their invoices at t, then lets the test hook fail the batch before
// its write-back.
func (p *Pool) compute(ctx context.Context, invoices [][]Invoice, items []item, t time.Time) ([]result, error) {
	results := p.computeAll(invoices, items, t)
	if p.hooks.beforeWrite != nil {
		if err := p.hooks.beforeWrite(ctx, keysOf(items)); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// recoverBatch, deferred, turns a panic anywhere in a batch into *err: an error of the attempt,
// never a crash.
func (p *Pool) recoverBatch(err *error) {
	if v := recover(); v != nil {
		p.cfg.Log.Error("recalc: panic in batch", "panic", v, "stack", string(debug.Stack()))
		*err = fmt.Errorf("panic: %v", v)
	}
}

// work is one claim loop: claim and process batches back to back while there are any, wait for a
// committed write or the next poll when the queue is idle, and back off while the database fails.
func (p *Pool) work(ctx context.Context) {
	failures := 0
	for ctx.Err() == nil {
		woken := p.wake.armed()
		p.retryReleases(ctx)
		_, claimed, err := p.runOnce(ctx)
		wait := p.cfg.PollInterval
		switch {
		case err != nil && ctx.Err() == nil:
			failures++
			wait = min(p.cfg.PollInterval<<min(failures, 16), max(maxIdle, p.cfg.PollInterval))
			p.cfg.Log.Error("recalc: worker", "err", err, "retry_in", wait)
			sleep(ctx, wait) // a write's wake-up does not cut a backoff short
		case claimed > 0:
			failures = 0 // more may be due: no wait
		default:
			failures = 0
			p.idle(ctx, wait, woken)
		}
	}
}

// sweepLoop runs Sweep at start and every SweepInterval. Every pool runs it: it is idempotent, and
// one statement per run, so redundancy costs little and needs no leader.
func (p *Pool) sweepLoop(ctx context.Context) {
	tick := time.NewTicker(p.cfg.SweepInterval)
	defer tick.Stop()
	for {
		if n, err := p.Sweep(ctx); err != nil && ctx.Err() == nil {
			p.cfg.Log.Error("recalc: sweep", "err", err)
		} else if n > 0 {
			p.cfg.Log.Debug("recalc: sweep queued customers", "count", n)
		}
		if p.cfg.AlsoSweep != nil {
			if err := p.cfg.AlsoSweep(ctx); err != nil && ctx.Err() == nil {
				p.cfg.Log.Error("recalc: sweep of others", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// heldAccountsSQL names the accounts in which claims of this pool (locked_by starting with its
// prefix) hold queue rows.
const heldAccountsSQL = `SELECT DISTINCT account_id FROM recalc_queue WHERE starts_with(locked_by, $1)`

// releaseAllSQL releases the queue rows of account $1 held by any claim of this pool (locked_by
// starts with $2), locking them in key order first.
var releaseAllSQL = updateQueueSQL(unlock, `
    SELECT source_id, customer_id FROM recalc_queue q
    WHERE q.account_id = $1 AND starts_with(q.locked_by, $2)
    ORDER BY `+keyOrder("q")+`
    FOR UPDATE`)

// releaseAll gives back every claim of this pool, one account at a time.
func (p *Pool) releaseAll(ctx context.Context) error {
	accounts, err := p.accounts(ctx, heldAccountsSQL, p.prefix)
	if err != nil {
		return fmt.Errorf("release claims: %w", err)
	}
	for _, a := range accounts {
		if _, err := p.db.SQL.ExecContext(ctx, releaseAllSQL, a, p.prefix); err != nil {
			return fmt.Errorf("release claims: %w", err)
		}
	}
	return nil
}
