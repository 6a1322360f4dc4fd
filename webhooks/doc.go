// Package webhooks tells an account's own endpoints what happened (SPEC 9, docs/webhooks.md):
// an import completed, an import's metrics caught up, a customer's current MRR changed.
//
// It owns the tables webhook_endpoints, webhook_events and webhook_deliveries: all SQL touching
// them is here. Endpoints are created, listed and deleted through Create, List and Delete; the
// deliveries log is read through Deliveries.
//
// Events are recorded in the transaction of their cause, so a committed cause always has its
// event and a rolled-back one never does: ImportFinished is called by the write path in the
// transaction that finishes an import, RecalcWritten is recalc's write-back hook
// (recalc.Config.Written, wired by cmd/invoice-ingest). An event is stored only when at least one
// of the account's endpoints subscribed to its type, with one delivery row per such endpoint.
//
// A Pool of delivery workers (run by the serve and worker commands) claims due deliveries with
// FOR UPDATE SKIP LOCKED and a lease, POSTs them signed the Standard Webhooks way, and retries
// with exponential backoff for 24 h. Guard refuses URLs whose addresses are loopback, private,
// link-local or otherwise not public, at creation and again at each connection's dial.
//
// Arrows: api, cmd -> webhooks -> imports, recalc, models.
package webhooks
