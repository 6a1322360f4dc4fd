package recalc

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The express lane. Waking an idle claim loop does nothing for a write that lands while every loop
// is busy: under steady bulk load the loops are never idle, each holds a batch of up to BatchSize
// customers for a second or more, and a new write waits behind the queue's older rows and the
// fold of the bulk writes' outbox rows. A write that names few customers (an API call changing one
// invoice, not a bulk import) announces its outbox row's id (see Enqueue); a pool that LISTENs
// hands such rows to one loop of its own, which folds just those rows, claims just their
// customers and computes them, the way the claim loops would, leases, versions and write-back
// included. It computes few customers at a time, so it stays fast when bulk writes saturate the
// claim loops, and it never takes bulk work from them. Everything it skips (the row was folded or
// claimed by a claim loop first, the lane is full) is left to the claim loops, as without it.

// expressCustomers is the most customers an outbox row may name to take the express lane.
const expressCustomers = 8

// maxExpress bounds the outbox rows waiting for the express lane; past it, rows are left to the
// claim loops, so a flood of small writes cannot grow this process's memory.
const maxExpress = 1024

// expressFoldSQL is foldSQL restricted to the outbox rows $4 of account $1.
var expressFoldSQL = strings.Replace(foldSQL, "AND id <> ALL (coalesce($4::bigint[], '{}'))",
	"AND id = ANY($4::bigint[])", 1)

// expressKeysSQL names the customers of outbox rows $2 of account $1.
const expressKeysSQL = `
SELECT DISTINCT o.source_id, c.customer_id
FROM recalc_outbox o, unnest(o.customer_ids) AS c(customer_id)
WHERE o.account_id = $1 AND o.id = ANY($2::bigint[])`

// expressClaimSQL is claimSQL for the customers $2, $3 of account $1 (in key order) rather than
// the oldest due: one primary-key probe per customer, locking in the keys' order (see heldSQL).
var expressClaimSQL = updateQueueSQL("locked_until = now() + $4::bigint * interval '1 microsecond', locked_by = $5", `
    SELECT q.source_id, q.customer_id FROM `+keysFrom("c")+`,
         LATERAL (SELECT t.source_id, t.customer_id FROM recalc_queue t
                  WHERE `+sameKey("t", "c")+`
                    AND t.run_at <= now() AND (t.locked_until IS NULL OR t.locked_until < now())
                  OFFSET 0 FOR UPDATE SKIP LOCKED) q`) + `
RETURNING q.source_id, q.customer_id, q.version`

// expressQueue is the outbox rows waiting for the express lane, by account, and those it is
// serving: the claim loops' folds leave both alone (see fold).
type expressQueue struct {
	mu    sync.Mutex
	rows  map[[16]byte][]int64
	busy  map[[16]byte][]int64 // taken by next, until done
	order [][16]byte
	n     int
	ready chan struct{} // holds a token while rows wait
}

func newExpressQueue() *expressQueue {
	return &expressQueue{rows: map[[16]byte][]int64{}, busy: map[[16]byte][]int64{}, ready: make(chan struct{}, 1)}
}

// held returns the outbox rows of account the lane holds: waiting or being served.
func (q *expressQueue) held(account [16]byte) []int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append(slices.Clone(q.rows[account]), q.busy[account]...)
}

// done ends the lane's hold on the rows of account next took.
func (q *expressQueue) done(account [16]byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.busy, account)
}

// add queues outbox row id of account; false when the lane is full.
func (q *expressQueue) add(account [16]byte, id int64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n >= maxExpress {
		return false
	}
	if _, ok := q.rows[account]; !ok {
		q.order = append(q.order, account)
	}
	q.rows[account] = append(q.rows[account], id)
	q.n++
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// next takes the rows of the account that has waited longest.
func (q *expressQueue) next() ([16]byte, []int64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 {
		return [16]byte{}, nil, false
	}
	a := q.order[0]
	q.order = q.order[1:]
	ids := q.rows[a]
	delete(q.rows, a)
	q.busy[a] = ids
	q.n -= len(ids)
	return a, ids, true
}

// expressLoop serves the express lane until ctx ends.
func (p *Pool) expressLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.express.ready:
		}
		for ctx.Err() == nil {
			account, ids, ok := p.express.next()
			if !ok {
				break
			}
			err := p.serveExpress(ctx, account, ids)
			p.express.done(account)
			if err != nil && ctx.Err() == nil {
				// The claim loops get whatever was left; nothing is lost.
				p.cfg.Log.Warn("recalc: express lane", "err", err)
			}
		}
	}
}

// serveExpress folds outbox rows ids of account, then claims and processes their customers.
func (p *Pool) serveExpress(ctx context.Context, account [16]byte, ids []int64) error {
	keys, err := p.expressKeys(ctx, account, ids)
	if err != nil || len(keys) == 0 {
		return err // no rows left: a claim loop folded them
	}
	// All of its rows at once, whatever they name: the claim below takes their customers.
	if _, err := p.db.SQL.ExecContext(ctx, expressFoldSQL, account, len(ids), p.dbNow(), ids, int64(math.MaxInt64)); err != nil {
		return fmt.Errorf("fold: %w", err)
	}
	c := &claim{token: p.prefix + strconv.FormatUint(p.seq.Add(1), 10)}
	rows, err := p.db.SQL.QueryContext(ctx, expressClaimSQL, keyArgs(keys, p.cfg.Lease.Microseconds(), c.token)...)
	if err != nil {
		return fmt.Errorf("claim: %w", err)
	}
	for rows.Next() {
		it := item{key: CustomerKey{AccountID: account}}
		if err := rows.Scan(&it.key.SourceID, &it.key.CustomerID, &it.version); err != nil {
			rows.Close()
			return fmt.Errorf("scan claim: %w", err)
		}
		c.items = append(c.items, it)
	}
	if err := rows.Err(); err != nil || len(c.items) == 0 {
		return err // a claim loop holds them, or they are backing off
	}
	slices.SortFunc(c.items, func(a, b item) int { return compareKeys(a.key, b.key) })
	pctx, cancel := p.graceful(ctx)
	defer cancel()
	_, err = p.process(pctx, c)
	return err
}

// expressKeys returns the customers outbox rows ids of account name, sorted.
func (p *Pool) expressKeys(ctx context.Context, account [16]byte, ids []int64) ([]CustomerKey, error) {
	rows, err := p.db.SQL.QueryContext(ctx, expressKeysSQL, account, ids)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	var keys []CustomerKey
	for rows.Next() {
		k := CustomerKey{AccountID: account}
		if err := rows.Scan(&k.SourceID, &k.CustomerID); err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	return keys, rows.Err()
}
