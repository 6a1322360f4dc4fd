-- +goose Up
-- Webhooks (SPEC 9), owned by package webhooks (webhooks/*.go). See docs/webhooks.md.
--
-- webhook_endpoints: where an account wants events sent, and which. The secret signs every
-- delivery, so it is kept as given (whsec_ + base64), shown to the client only at creation.
CREATE TABLE webhook_endpoints (
    account_id uuid        NOT NULL REFERENCES accounts (id),
    id         uuid        NOT NULL,
    url        text        NOT NULL,
    events     text[]      NOT NULL,
    secret     text        NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, id)
);

-- webhook_events: one row per event that at least one endpoint subscribed to when its cause
-- committed, inserted in the cause's transaction. payload is the exact body every attempt sends
-- (and signs). subject names what an event is about when it may happen at most once (an
-- import's id for the import events): the unique key makes a second recording a no-op.
CREATE TABLE webhook_events (
    account_id uuid        NOT NULL,
    id         uuid        NOT NULL,
    type       text        NOT NULL,
    subject    text,
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, type, subject)
);

-- webhook_deliveries: one row per event and subscribed endpoint. A pending row is due at
-- next_attempt_at; a worker claims it by moving next_attempt_at past its lease (locked_by names
-- the claim), so a worker that dies leaves it due again once the lease ends.
CREATE TABLE webhook_deliveries (
    account_id       uuid        NOT NULL,
    endpoint_id      uuid        NOT NULL,
    event_id         uuid        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    last_status_code integer,
    last_error       text,
    next_attempt_at  timestamptz,
    locked_by        text,
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (account_id, endpoint_id, event_id),
    FOREIGN KEY (account_id, endpoint_id) REFERENCES webhook_endpoints (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, event_id) REFERENCES webhook_events (account_id, id) ON DELETE CASCADE
);
-- The workers' claim: an account's pending rows in next_attempt_at order (on Citus a claim
-- names one account).
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (account_id, next_attempt_at) WHERE status = 'pending';
-- GET /data/webhooks/{id}/deliveries: newest first, keyset (created_at, event_id).
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (account_id, endpoint_id, created_at DESC, event_id DESC);
-- Deleting an event cascades to its deliveries.
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (account_id, event_id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
