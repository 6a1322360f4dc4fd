-- +goose Up
-- Each customer's monthly MRR history (SPEC section 5, "History and movements"), owned by recalc
-- (recalc/history.go computes it, recalc/write.go stores it in the write-back transaction that
-- stores the current metrics, recalc/history_read.go reads it).
--
-- Only the months in which a customer's MRR in a currency changes are stored (change_cents <> 0):
-- a month's MRR is the last row at or before it (0 before the first), the account's MRR of a month
-- is the running sum of change_cents, and its customers with MRR > 0 the running sum of new +
-- reactivation - churn rows. A customer whose MRR stays flat for years costs one row, and a
-- month passing writes nothing.
CREATE TABLE customer_mrr_history (
    account_id   uuid           NOT NULL,
    source_id    uuid           NOT NULL,
    customer_id  text COLLATE "C" NOT NULL,
    currency     text           NOT NULL,
    month        date           NOT NULL, -- the first day of the month
    mrr_cents    bigint         NOT NULL, -- MRR at the month's first instant (00:00 UTC)
    change_cents bigint         NOT NULL, -- mrr_cents minus the previous month's, never 0
    movement     text           NOT NULL
        CHECK (movement IN ('new', 'expansion', 'contraction', 'churn', 'reactivation')),
    PRIMARY KEY (account_id, source_id, customer_id, currency, month)
);
-- No secondary index: the bridge (GET /data/mrr) reads every row of an account up to a month,
-- which the primary key's account_id prefix serves; a covering index by month showed no clear gain
-- there (docs/metrics.md) and would cost every write-back a second index insert per row.

-- +goose Down
DROP TABLE customer_mrr_history;
