-- +goose Up
-- An invoice moved to another customer no longer queues its previous customer through a trigger:
-- the write path does it (ingest reads the stored customer of every invoice it writes, under lock,
-- in the write transaction, and queues both customers with the rest of the batch). On Citus a
-- trigger on a distributed table runs on the shard, where it cannot write another distributed
-- table safely (docs/scaling.md). Processes of an older version still running while this migration
-- lands no longer queue the previous customer of an invoice they move.
DROP TRIGGER invoices_customer_moved ON invoices;
DROP FUNCTION recalc_queue_previous_customer();

-- +goose Down
-- +goose StatementBegin
CREATE FUNCTION recalc_queue_previous_customer() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER invoices_customer_moved AFTER UPDATE OF customer_id ON invoices
    FOR EACH ROW WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id)
    EXECUTE FUNCTION recalc_queue_previous_customer();
