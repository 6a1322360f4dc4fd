-- +goose Up
-- Imports (SPEC 4) and Idempotency-Key answers (SPEC 3), owned by package imports
-- (imports/*.go), and the recalculation's per-import progress, owned by recalc
-- (recalc/progress.go). See docs/imports.md.
--
-- imports: one row per write request. A JSON request's row is inserted once, finished, in the
-- write transaction (or in a statement of its own when the request wrote nothing); an NDJSON
-- stream's row is inserted at the stream's start ('running'), its counts grow in each chunk's write
-- transaction, and it is finished at the end. A process that dies leaves it 'running' with an old
-- heartbeat_at: the sweep marks it 'interrupted'.
CREATE TABLE imports (
    account_id       uuid        NOT NULL REFERENCES accounts (id),
    id               uuid        NOT NULL,
    entity           text        NOT NULL CHECK (entity IN ('customers', 'plans', 'invoices')),
    status           text        NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
    dry_run          boolean     NOT NULL,
    content_type     text        NOT NULL,
    key_id           uuid        NOT NULL,
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    heartbeat_at     timestamptz NOT NULL,
    row_count        bigint      NOT NULL DEFAULT 0,
    inserted         bigint      NOT NULL DEFAULT 0,
    updated          bigint      NOT NULL DEFAULT 0,
    unchanged        bigint      NOT NULL DEFAULT 0,
    errors           bigint      NOT NULL DEFAULT 0,
    errors_truncated boolean     NOT NULL DEFAULT false,
    source_ids       uuid[]      NOT NULL DEFAULT '{}', -- the data sources its valid rows named
    PRIMARY KEY (account_id, id)
);
-- GET /data/imports: newest first, keyset (started_at, id).
CREATE INDEX imports_newest ON imports (account_id, started_at DESC, id DESC);
-- The sweep: running imports whose heartbeat stopped, and retention.
CREATE INDEX imports_running ON imports (heartbeat_at) WHERE status = 'running';
-- Retention scans by started_at: a BRIN index (imports arrive in started_at order) costs a
-- write almost nothing, where a B-tree would be one more index insert per request.
CREATE INDEX imports_started ON imports USING brin (started_at);

-- The rows in error of an import, at most 10,000 per import (then imports.errors_truncated).
CREATE TABLE import_errors (
    account_id uuid    NOT NULL,
    import_id  uuid    NOT NULL,
    idx        bigint  NOT NULL, -- the row's index in its request (or stream)
    row_id     text,             -- the row's id when it had a valid one
    line       text    NOT NULL, -- its answer line up to "row": {"index","id","import_error","errors"
    raw        bytea,            -- the row as sent; NULL for an NDJSON line over 1 MiB
    raw_json   boolean NOT NULL, -- raw is JSON text (else it is shown as a JSON string)
    PRIMARY KEY (account_id, import_id, idx),
    FOREIGN KEY (account_id, import_id) REFERENCES imports (account_id, id) ON DELETE CASCADE
);

-- Idempotency-Key: one row per account and key. 'running' while the first request runs (until
-- lease_until: a crashed holder does not block the key forever), 'done' with the stored answer,
-- which is written in the request's write transaction.
CREATE TABLE idempotency_keys (
    account_id      uuid        NOT NULL REFERENCES accounts (id),
    key             text COLLATE "C" NOT NULL,
    fingerprint     bytea       NOT NULL, -- SHA-256 of method, path, query and body
    token           uuid        NOT NULL, -- the holder of a running row
    status          text        NOT NULL CHECK (status IN ('running', 'done')),
    lease_until     timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    response_status integer,
    response_body   bytea,
    import_id       uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Metrics caught up (recalc): an outbox row names the import that wrote it; a queue row carries
-- the imports whose customers it recalculates (import_ids, de-duplicated; attached is scratch
-- space of the fold: the ids its last update added). recalc_import_progress is append-only: each
-- writer, fold and write-back appends a row of changes to an import's customers and pending (no
-- row is updated, so nobody waits on a hot counter); a read sums them, the sweep compacts them.
ALTER TABLE recalc_outbox ADD COLUMN import_id uuid;
ALTER TABLE recalc_queue ADD COLUMN import_ids uuid[] NOT NULL DEFAULT '{}',
                         ADD COLUMN attached uuid[];
-- A customer that many imports touched before a worker got to it carries a long array: kept out
-- of line (TOAST, uncompressed), so queue rows stay narrow. Their width is what the planner weighs
-- a sequential scan of the queue by; wide rows made it pick plans that cost the workers' per-batch
-- statements (lock the claimed rows, finish them) a hundred times more.
ALTER TABLE recalc_queue ALTER COLUMN import_ids SET STORAGE EXTERNAL,
                         ALTER COLUMN attached SET STORAGE EXTERNAL,
                         SET (toast_tuple_target = 512);
CREATE TABLE recalc_import_progress (
    account_id uuid        NOT NULL,
    import_id  uuid        NOT NULL,
    customers  bigint      NOT NULL, -- change of the customers the import queued
    pending    bigint      NOT NULL, -- change of those still pending
    at         timestamptz NOT NULL  -- when (a write-back: not before the metrics' calculated_at)
);
CREATE INDEX recalc_import_progress_import ON recalc_import_progress (account_id, import_id);
CREATE INDEX recalc_import_progress_at ON recalc_import_progress USING brin (at);

-- +goose Down
DROP TABLE recalc_import_progress;
ALTER TABLE recalc_queue DROP COLUMN attached, DROP COLUMN import_ids;
ALTER TABLE recalc_outbox DROP COLUMN import_id;
DROP TABLE idempotency_keys;
DROP TABLE import_errors;
DROP TABLE imports;
