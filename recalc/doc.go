// Package recalc keeps each customer's metrics (SPEC section 5) in step with its invoices: the
// metric definitions as pure functions, the queue that ingest writes to in its own transaction, the
// workers that drain it, and the sweep that re-queues customers whose metrics move with time.
//
// # Metric definitions
//
// [Compute] is a pure function of a customer's non-archived invoices and an instant t: no database,
// no clock. It follows SPEC section 5; where SPEC is silent it makes these choices:
//
//   - Time. Every instant is compared as an instant, so offsets do not matter; calendar arithmetic
//     (months) is done in UTC. Returned instants are in UTC.
//   - Months. months(s, e) is k when e is s plus exactly k >= 1 calendar months with the same time of
//     day, a day beyond the target month's end clamped to its last day (Jan 31 -> Feb 29 2024 or
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
//   - Overflow. Amounts may be anything int64 holds; sums, ARR and per-invoice MRR saturate at the
//     int64 bounds instead of wrapping.
package recalc
