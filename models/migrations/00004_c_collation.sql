-- +goose Up
-- Ids are opaque byte strings: compare them byte-wise (COLLATE "C"), not by the database's locale.
-- Every key probe, insert, conflict check and foreign-key check compares ids in a B-tree; under
-- a libc locale (even C.UTF-8, which PostgreSQL 15 does not treat as "C") each comparison is a
-- strcoll call, which profiles of an import showed among PostgreSQL's top costs. Byte order also
-- makes id order (lists, cursors, the recalculation lock order) the same on every deployment.
-- Foreign keys and the trigger on customer_id are dropped and re-created around the change.
DROP TRIGGER invoices_customer_moved ON invoices;
ALTER TABLE invoices DROP CONSTRAINT invoices_account_id_source_id_customer_id_fkey;
ALTER TABLE invoices DROP CONSTRAINT invoices_account_id_source_id_plan_id_fkey;
ALTER TABLE customers ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE plans ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE invoices
    ALTER COLUMN id TYPE text COLLATE "C",
    ALTER COLUMN customer_id TYPE text COLLATE "C",
    ALTER COLUMN plan_id TYPE text COLLATE "C";
ALTER TABLE invoices
    ADD CONSTRAINT invoices_account_id_source_id_customer_id_fkey
        FOREIGN KEY (account_id, source_id, customer_id) REFERENCES customers (account_id, source_id, id),
    ADD CONSTRAINT invoices_account_id_source_id_plan_id_fkey
        FOREIGN KEY (account_id, source_id, plan_id) REFERENCES plans (account_id, source_id, id);
CREATE TRIGGER invoices_customer_moved AFTER UPDATE OF customer_id ON invoices
    FOR EACH ROW WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id)
    EXECUTE FUNCTION recalc_queue_previous_customer();
ALTER TABLE recalc_queue ALTER COLUMN customer_id TYPE text COLLATE "C";
ALTER TABLE customer_metrics ALTER COLUMN customer_id TYPE text COLLATE "C";
ALTER TABLE customer_metric_schedule ALTER COLUMN customer_id TYPE text COLLATE "C";
ALTER TABLE recalc_outbox ALTER COLUMN customer_ids TYPE text[] COLLATE "C";

-- +goose Down
DROP TRIGGER invoices_customer_moved ON invoices;
ALTER TABLE invoices DROP CONSTRAINT invoices_account_id_source_id_customer_id_fkey;
ALTER TABLE invoices DROP CONSTRAINT invoices_account_id_source_id_plan_id_fkey;
ALTER TABLE customers ALTER COLUMN id TYPE text COLLATE "default";
ALTER TABLE plans ALTER COLUMN id TYPE text COLLATE "default";
ALTER TABLE invoices
    ALTER COLUMN id TYPE text COLLATE "default",
    ALTER COLUMN customer_id TYPE text COLLATE "default",
    ALTER COLUMN plan_id TYPE text COLLATE "default";
ALTER TABLE invoices
    ADD CONSTRAINT invoices_account_id_source_id_customer_id_fkey
        FOREIGN KEY (account_id, source_id, customer_id) REFERENCES customers (account_id, source_id, id),
    ADD CONSTRAINT invoices_account_id_source_id_plan_id_fkey
        FOREIGN KEY (account_id, source_id, plan_id) REFERENCES plans (account_id, source_id, id);
CREATE TRIGGER invoices_customer_moved AFTER UPDATE OF customer_id ON invoices
    FOR EACH ROW WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id)
    EXECUTE FUNCTION recalc_queue_previous_customer();
ALTER TABLE recalc_queue ALTER COLUMN customer_id TYPE text COLLATE "default";
ALTER TABLE customer_metrics ALTER COLUMN customer_id TYPE text COLLATE "default";
ALTER TABLE customer_metric_schedule ALTER COLUMN customer_id TYPE text COLLATE "default";
ALTER TABLE recalc_outbox ALTER COLUMN customer_ids TYPE text[] COLLATE "default";
