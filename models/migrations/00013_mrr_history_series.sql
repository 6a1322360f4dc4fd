-- +goose Up
-- Each customer's monthly MRR history becomes one row per customer and currency (a series)
-- instead of one row per month of change: the months of change, with their MRR, change and
-- movement, are arrays of equal length in month order, so element i of each array is the row per
-- month that 00005 stored. What is stored is the same; only its layout changes.
--
-- Why: the write-back of a recalculation inserts a customer's whole history at once, and a row per
-- month cost each month a heap tuple and a primary-key entry. For the load tool's customers (8 to
-- 100 months of change each) that insert was the largest single cost of the drain; one row per
-- currency makes it about a fifth (docs/metrics.md, "How history is stored"). Reads unnest the
-- arrays: a customer's history is one index lookup, and the bridge aggregates the unnested months
-- in SQL as before.
--
-- On Citus the copy below reads the distributed table, a multi-shard query that Citus runs in
-- parallel unless told otherwise; invoice_ingest_distribute() then places the new table in
-- sequential mode, which Citus refuses after a parallel query in the same transaction. So the
-- whole migration runs in sequential mode (a setting of this transaction only; on plain
-- PostgreSQL an unused placeholder).
SELECT set_config('citus.multi_shard_modify_mode', 'sequential', true);
CREATE TABLE customer_mrr_series (
    account_id    uuid             NOT NULL,
    source_id     uuid             NOT NULL,
    customer_id   text COLLATE "C" NOT NULL,
    currency      text             NOT NULL,
    months        date[]           NOT NULL, -- first days of the months of change, ascending
    mrr_cents     bigint[]         NOT NULL, -- MRR at each month's first instant (00:00 UTC)
    change_cents  bigint[]         NOT NULL, -- each month's MRR minus the previous month's, never 0
    movements     text[]           NOT NULL, -- new, expansion, contraction, churn or reactivation
    PRIMARY KEY (account_id, source_id, customer_id, currency),
    CONSTRAINT customer_mrr_history_series_check
        CHECK (cardinality(months) > 0 AND cardinality(mrr_cents) = cardinality(months)
               AND cardinality(change_cents) = cardinality(months) AND cardinality(movements) = cardinality(months)),
    CONSTRAINT customer_mrr_history_movements_check
        CHECK (movements <@ ARRAY['new', 'expansion', 'contraction', 'churn', 'reactivation'])
);
INSERT INTO customer_mrr_series
SELECT account_id, source_id, customer_id, currency, array_agg(month ORDER BY month),
       array_agg(mrr_cents ORDER BY month), array_agg(change_cents ORDER BY month),
       array_agg(movement ORDER BY month)
FROM customer_mrr_history
GROUP BY account_id, source_id, customer_id, currency;
DROP TABLE customer_mrr_history;
ALTER TABLE customer_mrr_series RENAME TO customer_mrr_history;
ALTER INDEX customer_mrr_series_pkey RENAME TO customer_mrr_history_pkey;
-- On Citus, place the new table beside the others (00011); on plain PostgreSQL this does nothing.
SELECT invoice_ingest_distribute();

-- +goose Down
SELECT set_config('citus.multi_shard_modify_mode', 'sequential', true);
CREATE TABLE customer_mrr_months (
    account_id   uuid           NOT NULL,
    source_id    uuid           NOT NULL,
    customer_id  text COLLATE "C" NOT NULL,
    currency     text           NOT NULL,
    month        date           NOT NULL,
    mrr_cents    bigint         NOT NULL,
    change_cents bigint         NOT NULL,
    movement     text           NOT NULL CONSTRAINT customer_mrr_history_movement_check
        CHECK (movement IN ('new', 'expansion', 'contraction', 'churn', 'reactivation')),
    PRIMARY KEY (account_id, source_id, customer_id, currency, month)
);
INSERT INTO customer_mrr_months
SELECT h.account_id, h.source_id, h.customer_id, h.currency, u.*
FROM customer_mrr_history h, unnest(h.months, h.mrr_cents, h.change_cents, h.movements) AS u;
DROP TABLE customer_mrr_history;
ALTER TABLE customer_mrr_months RENAME TO customer_mrr_history;
ALTER INDEX customer_mrr_months_pkey RENAME TO customer_mrr_history_pkey;
SELECT invoice_ingest_distribute();
