// Package recalc keeps each customer's metrics (SPEC section 5) in step with its invoices: the
// metric definitions as pure functions, the queue that ingest writes to in its own transaction, the
// workers that drain it, and the sweep that re-queues customers whose metrics move with time.
//
// recalc owns six tables, whose schema is among models' migrations: recalc_outbox (customers
// that committed writes changed), recalc_queue (customers waiting for or under recalculation),
// customer_metrics (the metrics), customer_mrr_history (each customer's monthly MRR history: the
// months in which its MRR in a currency changed, one row per customer and currency with the
// months as arrays, docs/metrics.md), customer_metric_schedule (when each
// customer's metrics next move with time alone) and recalc_import_progress (per import, how many
// of the customers it queued are still pending: see [Progress] and docs/imports.md; outbox rows
// name their import, queue rows carry the imports they recalculate for).
//
// # Metric definitions
//
// [Compute] is a pure function of a customer's non-archived invoices and an instant t: no database,
// no clock. It follows SPEC section 5; where SPEC is silent it makes these choices:
//
//   - Time. Every instant is compared as an instant, so offsets do not matter; calendar arithmetic
//     (months) is done in UTC. Returned instants are in UTC.
//   - Months. months(s, e) is k when e is s plus exactly k >= 1 calendar months with the same time of
//     day, or within one hour of it (local midnights across a daylight-saving change: Berlin
//     Mar 15 -> Apr 15 is 23:00 -> 22:00 UTC, New York Nov 1 -> Dec 1 is 04:00 -> 05:00 UTC, each
//     one month), a day beyond the target month's end clamped to its last day (Jan 31 -> Feb 29 2024 or
//     Feb 28 2023, Jan 30 -> Feb 28 2023, Mar 31 -> Apr 30 are all one month), the way billing
//     systems anchor renewals. When s is the last day of its month, e being the last day of the
//     target month also counts (Feb 29 -> Mar 31 is one month), since a subscription anchored on the
//     31st renews so. Otherwise months is (e - s) / 30.436875 days; as 30.436875 days is exactly
//     2,629,746 seconds, the division and its rounding are done in exact integers, not floats.
//   - MRR. Each active subscription invoice contributes round((amount - discount) / months),
//     half away from zero, rounded per invoice and then summed. A zero-length period contributes 0.
//     Active means start_date <= t < end_date and not cancelled at t.
//   - Cancellations. A cancellation dated d ends, for t >= d, the subscription invoices with its
//     subscription_id (all the customer's, if it has none) that started before d, in every currency:
//     it is about the subscription, not the money. A subscription invoice starting at or after d is
//     a reactivation and is untouched. A cancellation with a subscription_id does not touch
//     subscription invoices without one. Cancellations add nothing to revenue.
//   - Revenue. amount - discount of subscription and one-time invoices dated at or before t, minus
//     amount of refunds dated at or before t (a refund's discount is ignored); it may be negative.
//   - Counts. invoice_count, first_invoice_at and last_invoice_at cover every invoice of the currency
//     on date, future-dated ones and cancellations included: they describe what is stored, not what
//     has happened yet. Types other than SPEC's four are counted but move no money.
//   - Status. active when MRR > 0; churned when MRR is not positive but a subscription invoice of
//     the currency started at or before t (so a 100%-discounted running subscription is churned:
//     it brings no recurring revenue); otherwise none. A currency whose only invoice is a
//     cancellation still gets an entry, with status none.
//   - Next change. Compute also returns the earliest instant after t among subscription start and
//     end dates and every invoice's date (which covers cancellations taking effect and revenue
//     moving), so the sweep knows when to recalculate; it may name an instant at which nothing
//     visible changes, which costs only an idempotent recalculation.
//   - History. [History] gives, per currency, the months in which MRR at the month's first
//     instant (day 1, 00:00 UTC) changed, from the first month with MRR > 0 to t's month, each
//     with its change and movement (new, expansion, contraction, churn, reactivation; SPEC 5). A
//     month's MRR is Compute's at that instant, computed only for months following a subscription
//     start or end or a cancellation; other months repeat the previous month. History also names
//     the next month start when MRR differs there, and the worker schedules the customer for the
//     earlier of that and Compute's next change, so the history gains next month's row (a period
//     that ended mid-month shows as next month's churn) even if nothing else re-queues it.
//   - Overflow. Amounts may be anything int64 holds; sums, ARR and per-invoice MRR saturate at the
//     int64 bounds instead of wrapping.
//
// # The queue
//
// Writes and the queue are two tables. [Enqueue] runs in the writer's transaction and appends one
// recalc_outbox row naming the customers the transaction changed (transactional outbox): a
// committed write is always followed by a recalculation (also after a crash), a rolled-back one
// records nothing. Appending takes no lock that another writer or a worker waits for, so concurrent
// imports of the same customers never queue up behind each other's commits.
//
// recalc_queue has one row per customer. Before each claim of an account, a worker folds that
// account's pending outbox rows into it (one statement: delete the account's oldest outbox rows,
// SKIP LOCKED, up to 1,000 rows or 200,000 customer names, and insert their customers
// de-duplicated; more statements while rows are left): many writes before a worker gets to a
// customer cost one recalculation.
// A fold bumps the version only of a row a worker holds (so the worker's result is known outdated
// and the customer runs again) and makes a row waiting out a backoff due now; a queued row nobody
// holds needs nothing, since the write committed before its outbox row became visible.
//
// Lock order. Every statement that locks several queue rows locks them in one global order:
// account, source, then customer id byte-wise (ORDER BY account_id, source_id, customer_id
// COLLATE "C", which is how Go compares the keys). Folds insert in that order; workers lock their
// rows with SELECT ... ORDER BY ... FOR UPDATE before changing them; the sweep inserts in that
// order. So folds and write-backs wait for each other but never deadlock; writers lock no queue row.
//
// # Workers
//
// A [Pool] runs Config.Workers claim loops. They serve accounts in turn (rotation.go): a lock-free
// read finds the accounts with due work (outbox rows, or due queue rows nobody holds), and each
// visit to an account folds its outbox and takes at most one batch of it, so a large tenant
// cannot starve the others. With notifications (Config.Listen), a visit folds only when that read
// found outbox rows of the account or a notification named it since: most visits of a small
// account have nothing to fold, and a fold is a statement. Every statement names its account as a scalar parameter, so on Citus
// each transaction touches one shard (docs/scaling.md). With Config.Listen, a committed write
// wakes the idle claim loops, and a write of few customers takes the express lane past the
// backlog (notify.go, express.go); polling every PollInterval stays as the fallback. A visit:
//
//  1. Claims up to BatchSize due customers of the account in one short, immediately committed statement (UPDATE
//     ... FOR UPDATE SKIP LOCKED), setting locked_by to a token unique to the claim and
//     locked_until to now() + Lease. The claim is these two columns, not a row lock: no
//     transaction stays open while computing, so a fold never waits behind a computation.
//  2. Loads the claimed customers' non-archived invoices in one query, stopping at
//     BatchInvoices (50,000) invoices: the customers past the cap are given back at once (the
//     release below), for another worker or the next batch, so a batch's memory and time stay
//     bounded and a few large customers are spread over the workers (a customer over the cap
//     alone is computed alone, whole). Calls [Compute] per customer at one instant t for the
//     whole batch.
//  3. Writes back in one transaction: locks the rows it still holds (locked_by = its token),
//     replaces their metrics rows (one DELETE, one INSERT from arrays) and brings their history
//     rows up to date (read, compared here, only the rows that differ written), so history is never
//     half-updated and exactly as fresh as the metrics (a customer whose computation failed
//     keeps both), upserts or deletes their
//     customer_metric_schedule rows, deletes the queue rows whose version is still the claimed one
//     and releases (locked_until = NULL) those whose version moved: a write landed during the
//     computation, so the customer runs once more and its metrics end up reflecting the last write.
//
// Clocks. Whether a row is due or its lease has expired is judged by the database's now(), the one
// clock all processes share. Where a statement would put now() beside a column (the fold making
// a backed-off row due, a failure's next attempt), the database's clock as last read by the
// discovery is passed instead (Pool.dbNow), with the jitter drawn in Go: Citus refuses now() and
// random() there. The calculation instant t (calculated_at, and what "active at t"
// means) comes from Config.Now, so tests and benchmarks can pin it; the sweep compares
// next_change_at against the same Config.Now.
//
// One worker at a time. SKIP LOCKED makes concurrent claims disjoint, and the lease keeps a claimed
// customer from being claimed again. While a batch is being processed its lease is extended every
// Lease/3, so a slow batch is not taken over; a worker that dies stops extending, and its claims
// are taken by another worker after at most one Lease. Should a lease expire anyway (a process
// paused for longer than a lease), the write-back of the late worker finds its token gone and
// writes nothing: metrics are only ever written by the current holder of the claim, under the
// queue row's lock.
//
// Failures. A customer whose computation fails (an error or a panic, which is recovered) is recorded
// in the queue row, in the same write-back transaction: attempts + 1, last_error (at most 1000
// bytes), run_at = now() + 1 s × 2^(attempts-1), capped at Config.MaxBackoff, less up to 10%
// jitter, and released. Rows are never dropped: a failing customer is retried until it succeeds,
// and stays stale and visible meanwhile. When a batch fails as a whole (a statement error), it is
// split in halves and each half retried, down to single customers, which are then recorded as
// failed: one bad customer costs about 2·log2(BatchSize) extra attempts and delays no other. An
// unreachable database fails the whole batch without splitting; if even recording that fails, the
// claims are released; a release that fails too is retried by the claim loops, at their backoff's
// pace, until it succeeds (the database is back) or the lease (5 s by default) has run out.
//
// Stopping. When Run's context ends, workers stop claiming; a batch in flight gets a grace period
// (10 s) to finish, and what it cannot finish is released so another process takes it at once.
//
// # Sweep
//
// Metrics move with time alone (a period ends, a future invoice's date is reached). Each write-back
// stores the customer's next such instant in customer_metric_schedule; [Pool.Sweep], run by Run
// every SweepInterval, queues the customers whose instant has passed and that are not queued
// already, in chunks of 10,000 per statement.
//
// # Reading
//
// [CustomerMetrics] returns a customer's stored metrics and whether it is stale (named by an outbox
// row, queued, running, or waiting to be retried), from one snapshot; [CustomersMetrics] does so
// for a page of customers in one query. [CustomerHistory] expands a customer's stored history
// into every month of a range. [AccountMRR] (the MRR bridge) and [AccountTotals] aggregate stored
// history and metrics of an account, one source or all, in SQL (never invoices at read time),
// with the count of stale customers in scope, from one read-only snapshot. See docs/metrics.md.
package recalc
