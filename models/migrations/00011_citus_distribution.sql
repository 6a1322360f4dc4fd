-- +goose Up
-- Scale-out on Citus (SPEC 10, docs/scaling.md): when the citus extension is installed in this
-- database, accounts and api_keys become reference tables (on every node) and every other table
-- of ours is distributed by account_id, all in one colocation group, so one account's rows of
-- every table live on one worker and each transaction of a write or a recalculation touches one
-- shard. On plain PostgreSQL it does nothing.
--
-- invoice_ingest_distribute() is idempotent: it places only the tables not placed yet. A later
-- migration that creates a table (with account_id leading its primary key) calls it again.
-- Citus refuses to distribute a table that a local table references, so the foreign keys among
-- our tables are dropped first and added back afterwards, one ADD CONSTRAINT per ALTER TABLE
-- (Citus refuses several subcommands in one). The migration lock table and goose's version table
-- stay on the coordinator.
-- +goose StatementBegin
CREATE FUNCTION invoice_ingest_distribute() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    fk record;
    t text;
    fks text[] := '{}';
    placed regclass[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    -- One connection per worker for the rest of the transaction: with rows to copy, a foreign key
    -- to a reference table cannot be added after a parallel operation in the same transaction.
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    EXECUTE 'SELECT coalesce(array_agg(logicalrelid), ''{}'') FROM pg_dist_partition' INTO placed;
    -- Foreign keys touching a table still to be placed: dropped now, added back at the end.
    FOR fk IN
        SELECT c.conrelid::regclass AS tbl, c.conname, pg_get_constraintdef(c.oid) AS def
        FROM pg_constraint c
        WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
          AND (NOT c.conrelid::regclass = ANY (placed) OR NOT c.confrelid::regclass = ANY (placed))
        ORDER BY c.conrelid::regclass::text, c.conname
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.tbl, fk.conname);
        fks := fks || format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.tbl, fk.conname, fk.def);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['accounts', 'api_keys'] LOOP
        IF NOT t::regclass = ANY (placed) THEN
            PERFORM create_reference_table(t);
        END IF;
    END LOOP;
    -- Every other table of ours with an account_id column; the first one anchors the colocation
    -- group (data_sources, created by the first migration, sorts first among them).
    FOR t IN
        SELECT c.relname FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'account_id' AND NOT a.attisdropped
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
          AND c.relname NOT IN ('accounts', 'api_keys') AND NOT c.oid::regclass = ANY (placed)
        ORDER BY c.relname <> 'data_sources', c.relname
    LOOP
        IF t = 'data_sources' OR NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'data_sources'::regclass) THEN
            PERFORM create_distributed_table(t, 'account_id');
        ELSE
            PERFORM create_distributed_table(t, 'account_id', colocate_with => 'data_sources');
        END IF;
    END LOOP;
    FOREACH t IN ARRAY fks LOOP
        EXECUTE t;
    END LOOP;
END
$$;
-- +goose StatementEnd
SELECT invoice_ingest_distribute();

-- +goose Down
-- Undistributing (undistribute_table) moves every row back to the coordinator: an operator's
-- decision, not a migration's. Only the function goes.
DROP FUNCTION invoice_ingest_distribute();
