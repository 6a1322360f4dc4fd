-- +goose Up
-- Writes no longer touch recalc_queue: they append one recalc_outbox row per transaction naming the
-- customers they changed, and workers fold those rows into recalc_queue (see recalc/outbox.go).
--
-- Why: locking one queue row per changed customer in the writer's transaction cost the writer a
-- row lock (and its WAL record) per customer, held until commit, so concurrent imports touching
-- the same customers queued up behind each other's commits. An appended row takes no lock any
-- other writer waits for, and a worker folding a hundred imports of the same customers does the
-- per-customer work once.
CREATE TABLE recalc_outbox (
    account_id   uuid        NOT NULL,
    id           bigint      GENERATED ALWAYS AS IDENTITY,
    source_id    uuid        NOT NULL,
    customer_ids text[]      NOT NULL, -- the changed customers of that data source
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);
-- Workers fold the oldest rows first, whatever their account.
CREATE INDEX recalc_outbox_order ON recalc_outbox (id);

-- The moved-invoice trigger appends to the outbox too, so nothing on the write path locks queue rows.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION recalc_queue_previous_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO recalc_outbox (account_id, source_id, customer_ids)
    VALUES (OLD.account_id, OLD.source_id, ARRAY[OLD.customer_id]);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION recalc_queue_previous_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO recalc_queue (account_id, source_id, customer_id)
    VALUES (OLD.account_id, OLD.source_id, OLD.customer_id)
    ON CONFLICT (account_id, source_id, customer_id)
    DO UPDATE SET version = recalc_queue.version + 1, run_at = least(recalc_queue.run_at, now()), updated_at = now()
    WHERE recalc_queue.locked_by IS NOT NULL OR recalc_queue.run_at > now();
    RETURN NULL;
END
$$;
-- +goose StatementEnd
INSERT INTO recalc_queue (account_id, source_id, customer_id)
SELECT DISTINCT o.account_id, o.source_id, c.customer_id
FROM recalc_outbox o, unnest(o.customer_ids) AS c(customer_id)
ON CONFLICT DO NOTHING;
DROP TABLE recalc_outbox;
