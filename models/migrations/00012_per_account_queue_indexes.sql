-- +goose Up
-- Workers claim one account's due customers at a time (recalc/rotation.go): the claim reads the
-- queue by (account_id, run_at), and the fold reads one account's outbox rows in id order, which
-- the outbox's primary key (account_id, id) serves. The global orders go: finding the accounts
-- with due work reads the queue once per round, not per claim.
CREATE INDEX recalc_queue_account_due ON recalc_queue (account_id, run_at);
DROP INDEX recalc_queue_due;
DROP INDEX recalc_outbox_order;

-- +goose Down
CREATE INDEX recalc_outbox_order ON recalc_outbox (id);
CREATE INDEX recalc_queue_due ON recalc_queue (run_at);
DROP INDEX recalc_queue_account_due;
