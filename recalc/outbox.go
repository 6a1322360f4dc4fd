package recalc

import (
	"context"
	"fmt"
)

// A fold statement takes at most foldRows outbox rows, and stops at the row that brings the
// customer names it took to foldNames or more, so a fold stays a short statement however far
// workers have fallen behind: its cost is about one sort of the (customer, import) pairs it takes.
// Bounding by names rather than rows alone lets one fold take all the chunks of a bulk import
// naming the same customers: each later fold of those customers updates their queue rows again,
// rewriting their growing import-id arrays (two folds of 100 such chunks cost PostgreSQL 426 ms in
// psql, one of 200 took 318 ms), while a thousand one-customer writes are still one fold.
const (
	foldRows  = 1000
	foldNames = 200_000
)

// foldSQL moves up to $2 outbox rows of account $1, oldest first, into recalc_queue, in one
// transaction: the outbox rows are deleted exactly when their customers are queued. SKIP LOCKED lets
// several workers fold at once, each taking other rows. Every table it touches is filtered by the
// account, a scalar: on Citus it runs on that account's shard alone. Outbox order matters only
// within an account. $3 is the database's clock (Pool.dbNow): Citus refuses now() beside columns.
//
// The customers are inserted de-duplicated and in key order (see compareKeys), so folds wait for
// each other and for write-backs but never deadlock. A customer already queued is bumped only
// when it needs it:
//   - one a worker holds (locked_by set): version + 1 tells it that its result is already outdated
//     (it may have read the invoices before the write committed), so the row stays queued for
//     another run;
//   - one waiting out a retry backoff (run_at in the future): run_at = $3 makes it due at once,
//     since the new write may be what fixes it. "In the future" means by more than half a second:
//     $3 is read before the statement runs, so a row another fold queued meanwhile (run_at its
//     now()) would otherwise look backed off and be bumped for nothing; every backoff is at least
//     0.9 s. (Written as a difference: Citus refuses timestamptz + interval, which is STABLE, in
//     an ON CONFLICT's WHERE; timestamptz - timestamptz is IMMUTABLE.)
//
// A queued customer nobody holds is left alone (its version stays, see below): the write committed
// before its outbox row became visible, so whichever worker claims the customer later reads it.
//
// Imports (metrics caught up, docs/imports.md): each outbox row names the import that wrote it,
// and counted its customers as pending for it (EnqueueImport). The fold attaches the import ids to
// the queue rows (import_ids, de-duplicated; a row that has them all already is not written); a
// customer the import had already attached to its queue row (an earlier chunk of the same stream)
// is one unit merged, taken back from the import's pending and customers here. So an import's
// pending is always its unfolded customers plus the queue rows carrying its id, and the write-back
// takes one off for each finished row. attached returns what each upsert added (RETURNING cannot
// see the old row). Progress is appended (recalc_import_progress), never updated in place. The
// units an import named are counted from its outbox rows' lengths (named); the customers are
// grouped straight from the unnested rows: materializing every (customer, import) pair, a hundred
// thousand for a hundred bulk chunks, and joining them again was most of what a fold cost.
var foldSQL = `
WITH candidates AS (
    SELECT id, cardinality(customer_ids) AS names FROM recalc_outbox
    WHERE account_id = $1 AND id <> ALL (coalesce($4::bigint[], '{}'))
    ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
), chosen AS (
    SELECT id FROM (SELECT id, sum(names) OVER (ORDER BY id) - names AS before FROM candidates) w
    WHERE before < $5
), taken AS (
    DELETE FROM recalc_outbox o
    WHERE o.account_id = $1 AND o.id IN (SELECT id FROM chosen)
    RETURNING o.account_id, o.source_id, o.customer_ids, o.import_id
), changed AS (
    SELECT t.account_id, t.source_id, c.customer_id,
           coalesce(array_agg(DISTINCT t.import_id) FILTER (WHERE t.import_id IS NOT NULL), '{}') AS import_ids
    FROM taken t, unnest(t.customer_ids) AS c(customer_id)
    GROUP BY t.account_id, t.source_id, c.customer_id
), queued AS (
    INSERT INTO recalc_queue AS q (account_id, source_id, customer_id, import_ids, attached)
    SELECT c.account_id, c.source_id, c.customer_id, c.import_ids, c.import_ids FROM changed c
    ORDER BY ` + keyOrder("c") + `
    ON CONFLICT (account_id, source_id, customer_id) DO UPDATE
    SET version = q.version + 1, run_at = least(q.run_at, $3::timestamptz), updated_at = $3::timestamptz,
        import_ids = q.import_ids || ` + newImportIDs + `,
        attached = ` + newImportIDs + `
    WHERE q.locked_by IS NOT NULL OR q.run_at - $3::timestamptz > interval '0.5 second'
       OR NOT q.import_ids @> excluded.import_ids
    RETURNING q.account_id, q.attached
), attached AS (
    SELECT a.account_id, x.import_id, count(*) AS n
    FROM queued a, unnest(a.attached) AS x(import_id)
    GROUP BY a.account_id, x.import_id
), named AS (
    SELECT t.account_id, t.import_id, sum(cardinality(t.customer_ids)) AS n
    FROM taken t WHERE t.import_id IS NOT NULL
    GROUP BY t.account_id, t.import_id
), merged AS (
    SELECT u.account_id, u.import_id, u.n - coalesce(a.n, 0) AS n
    FROM named u LEFT JOIN attached a ON a.account_id = u.account_id AND a.import_id = u.import_id
), progressed AS (
    INSERT INTO recalc_import_progress (account_id, import_id, customers, pending, at)
    SELECT m.account_id, m.import_id, -m.n, -m.n, clock_timestamp() FROM merged m WHERE m.n > 0
    RETURNING 1
)
SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM queued), (SELECT count(*) FROM progressed),
       (SELECT count(*) FROM candidates) > (SELECT count(*) FROM chosen) OR (SELECT count(*) FROM candidates) = $2`

// newImportIDs is, in the fold's upsert, the import ids of the outbox rows not yet on the queue row.
// Most folds bring a customer only imports it does not carry yet (an import's later chunk naming it
// again is the exception): for short arrays the overlap test spares them the set difference, which
// costs more than the rest of the row's update. But PostgreSQL tests an overlap by comparing every
// element of one array with every element of the other (about 2.2 ns each), and a customer that
// many imports wrote before a worker got to it carries hundreds of ids: each later fold compared
// them all with the new ones, twice. The set difference hashes both arrays instead (about 1.7 µs,
// plus 0.11 µs per element; measured in psql over 1,000 to 100,000 pairs of arrays), so it runs
// whenever the overlap test would make more than 50 comparisons per element of the two arrays
// (docs/metrics.md).
const newImportIDs = `CASE WHEN cardinality(q.import_ids) * cardinality(excluded.import_ids)
            <= 50 * (cardinality(q.import_ids) + cardinality(excluded.import_ids))
        AND NOT q.import_ids && excluded.import_ids
    THEN excluded.import_ids
    ELSE array(SELECT unnest(excluded.import_ids) EXCEPT SELECT unnest(q.import_ids)) END`

// fold moves account's pending outbox rows into the queue until none is left (or other workers
// hold the rest), and returns how many customers it queued or bumped. It leaves alone the rows
// this pool's express lane holds ($4): folded with the bulk rows, a small write would wait behind
// the bulk batches claimed before it, which is what the lane is there to spare it (under steady
// bulk load the claim loops took most of them first; docs/metrics.md has the figures).
func (p *Pool) fold(ctx context.Context, account [16]byte) (int, error) {
	total := 0
	for {
		var taken, queued, progressed int
		var more bool // a bound stopped the statement: rows may be left
		err := p.db.SQL.QueryRowContext(ctx, foldSQL, account, foldRows, p.dbNow(), p.express.held(account), foldNames).
			Scan(&taken, &queued, &progressed, &more)
		if err != nil {
			return total, fmt.Errorf("fold recalculation outbox: %w", err)
		}
		total += queued
		if !more {
			return total, nil
		}
	}
}
