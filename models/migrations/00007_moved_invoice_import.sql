-- +goose Up
-- An invoice moved to another customer queues its previous customer through this trigger. The
-- import that moved it counts that customer too (queued and pending until its metrics reflect the
-- import): the write transaction names its import in the transaction-local setting
-- invoice_ingest.import_id (recalc.MarkImport), which the trigger reads. Transaction-local, so it
-- works behind a transaction-pooling PgBouncer and never leaks into another transaction.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION recalc_queue_previous_customer() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    imp uuid := nullif(current_setting('invoice_ingest.import_id', true), '')::uuid;
BEGIN
    INSERT INTO recalc_outbox (account_id, source_id, customer_ids, import_id)
    VALUES (OLD.account_id, OLD.source_id, ARRAY[OLD.customer_id], imp);
    IF imp IS NOT NULL THEN
        INSERT INTO recalc_import_progress (account_id, import_id, customers, pending, at)
        VALUES (OLD.account_id, imp, 1, 1, clock_timestamp());
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION recalc_queue_previous_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO recalc_outbox (account_id, source_id, customer_ids)
    VALUES (OLD.account_id, OLD.source_id, ARRAY[OLD.customer_id]);
    RETURN NULL;
END
$$;
-- +goose StatementEnd
