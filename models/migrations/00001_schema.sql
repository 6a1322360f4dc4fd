-- The whole schema of invoice-ingest.
--
-- Every primary, unique and foreign key starts with account_id, so the schema can later be
-- distributed by account (Citus). The one exception is api_keys.key_hash: a bearer token is looked up
-- before its account is known.
--
-- Customers, plans and invoices use the client's own id as natural key inside (account, source), which
-- is what the set-based upserts conflict on. content_hash is a digest of every client-given field after
-- normalisation: a re-sent row whose hash matches is "unchanged" and is neither locked nor rewritten.

-- +goose Up
CREATE TABLE accounts (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    account_id uuid        NOT NULL REFERENCES accounts (id),
    id         uuid        NOT NULL,
    key_hash   bytea       NOT NULL,
    scopes     text        NOT NULL, -- space-separated, as OAuth 2 scopes
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    PRIMARY KEY (account_id, id)
);
CREATE UNIQUE INDEX api_keys_key_hash ON api_keys (key_hash);
-- keys revoke KEY_ID finds a key by id alone.
CREATE INDEX api_keys_id ON api_keys (id);

CREATE TABLE data_sources (
    account_id uuid        NOT NULL REFERENCES accounts (id),
    id         uuid        NOT NULL,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, name)
);

CREATE TABLE customers (
    account_id   uuid        NOT NULL,
    source_id    uuid        NOT NULL,
    id           text        NOT NULL,
    name         text        NOT NULL DEFAULT '',
    email        text        NOT NULL DEFAULT '',
    company      text        NOT NULL DEFAULT '',
    country      text        NOT NULL DEFAULT '',
    content_hash bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (account_id, source_id, id),
    FOREIGN KEY (account_id, source_id) REFERENCES data_sources (account_id, id)
);

CREATE TABLE plans (
    account_id     uuid        NOT NULL,
    source_id      uuid        NOT NULL,
    id             text        NOT NULL,
    name           text        NOT NULL,
    interval_unit  text        NOT NULL,
    interval_count integer     NOT NULL,
    content_hash   bytea       NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (account_id, source_id, id),
    FOREIGN KEY (account_id, source_id) REFERENCES data_sources (account_id, id)
);

CREATE TABLE invoices (
    account_id      uuid        NOT NULL,
    source_id       uuid        NOT NULL,
    id              text        NOT NULL,
    customer_id     text        NOT NULL,
    type            text        NOT NULL,
    date            timestamptz NOT NULL,
    amount_cents    bigint      NOT NULL,
    currency        text        NOT NULL,
    plan_id         text,
    subscription_id text,
    start_date      timestamptz NOT NULL,
    end_date        timestamptz NOT NULL,
    quantity        bigint,
    discount        bigint,
    content_hash    bytea       NOT NULL,
    archived_at     timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (account_id, source_id, id),
    FOREIGN KEY (account_id, source_id, customer_id) REFERENCES customers (account_id, source_id, id),
    FOREIGN KEY (account_id, source_id, plan_id) REFERENCES plans (account_id, source_id, id)
);
-- The secondary indexes are partial on purpose. The write path probes invoices by primary key many
-- times per batch; on a table without statistics (a first import) every index starting with
-- (account_id, source_id) looks as cheap as the key, and the planner may pick one of them and filter
-- on id, a scan of the whole source per probe. A partial index serves only queries that state its
-- predicate, so the probe can use nothing but the key, while the queries below still get theirs.
-- Listing: newest date first, ties by id, per source (live and archived listed apart).
CREATE INDEX invoices_by_date ON invoices (account_id, source_id, date DESC, id) WHERE archived_at IS NULL;
CREATE INDEX invoices_archived_by_date ON invoices (account_id, source_id, date DESC, id) WHERE archived_at IS NOT NULL;
-- Recalculation reads the live invoices of a customer.
CREATE INDEX invoices_by_customer ON invoices (account_id, source_id, customer_id) WHERE archived_at IS NULL;

-- The recalculation queue: a transactional outbox, one row per customer, written in the same
-- transaction as the invoice write (see recalc/enqueue.go). A write to a customer a worker holds
-- bumps version; the worker deletes the row after computing only if version is still the one it
-- claimed, so a write during a computation leads to one more run.
CREATE TABLE recalc_queue (
    account_id   uuid        NOT NULL,
    source_id    uuid        NOT NULL,
    customer_id  text        NOT NULL,
    version      bigint      NOT NULL DEFAULT 1,
    run_at       timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    locked_by    text,
    attempts     integer     NOT NULL DEFAULT 0,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, source_id, customer_id)
) WITH (fillfactor = 70); -- room on each page for the version bumps to be HOT updates
CREATE INDEX recalc_queue_due ON recalc_queue (run_at);

-- An invoice moved to another customer changes the previous customer's metrics too. RETURNING
-- cannot see a row's old values (before PostgreSQL 18), so this trigger queues the previous customer
-- in the same transaction; WHEN keeps it free for every other update.
-- +goose StatementBegin
CREATE FUNCTION recalc_queue_previous_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO recalc_queue (account_id, source_id, customer_id)
    VALUES (OLD.account_id, OLD.source_id, OLD.customer_id)
    ON CONFLICT (account_id, source_id, customer_id)
    DO UPDATE SET version = recalc_queue.version + 1, run_at = least(recalc_queue.run_at, now()), updated_at = now()
    WHERE recalc_queue.locked_by IS NOT NULL OR recalc_queue.run_at > now(); -- as recalc.Enqueue
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER invoices_customer_moved AFTER UPDATE OF customer_id ON invoices
    FOR EACH ROW WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id)
    EXECUTE FUNCTION recalc_queue_previous_customer();

-- Computed metrics, one row per customer and currency.
CREATE TABLE customer_metrics (
    account_id       uuid        NOT NULL,
    source_id        uuid        NOT NULL,
    customer_id      text        NOT NULL,
    currency         text        NOT NULL,
    mrr_cents        bigint      NOT NULL,
    arr_cents        bigint      NOT NULL,
    revenue_cents    bigint      NOT NULL,
    invoice_count    bigint      NOT NULL,
    first_invoice_at timestamptz,
    last_invoice_at  timestamptz,
    status           text        NOT NULL,
    calculated_at    timestamptz NOT NULL,
    PRIMARY KEY (account_id, source_id, customer_id, currency)
);

-- When a customer's metrics next change by the passage of time; the sweep re-queues those due.
CREATE TABLE customer_metric_schedule (
    account_id     uuid        NOT NULL,
    source_id      uuid        NOT NULL,
    customer_id    text        NOT NULL,
    next_change_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, source_id, customer_id)
);
CREATE INDEX customer_metric_schedule_due ON customer_metric_schedule (next_change_at);

-- +goose Down
DROP TABLE customer_metric_schedule;
DROP TABLE customer_metrics;
DROP TRIGGER invoices_customer_moved ON invoices;
DROP FUNCTION recalc_queue_previous_customer();
DROP TABLE recalc_queue;
DROP TABLE invoices;
DROP TABLE plans;
DROP TABLE customers;
DROP TABLE data_sources;
DROP TABLE api_keys;
DROP TABLE accounts;
