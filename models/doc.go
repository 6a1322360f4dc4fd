// Package models is the schema and the store of the ingested data: the versioned SQL migrations
// embedded in the binary (migrations/), opening the pool (Open), the GORM row types, the error
// type every layer uses (Error, with the codes api maps to HTTP statuses), and every query of the
// tables it owns:
//
//   - accounts, api_keys (accounts.go), data_sources (data_sources.go);
//   - customers, plans, invoices: the per-row probe and reference lookups (probe.go), the
//     set-based upserts (upsert.go), new invoices by binary COPY (copy.go, copy_binary.go),
//     archive and restore (invoice_archive.go), the keyset reads
//     (reads.go, cursor.go) and the invoices metrics are computed from (metric_invoices.go).
//
// Transaction (tx.go) runs a GORM transaction and, like TxError for one run otherwise, reports a
// transaction that database/sql rolled back because its context ended with that context's error
// rather than a bare sql.ErrTxDone, so that a client gone is not taken for an internal fault.
// WriteTransaction (copy.go) is Transaction on one held connection, so that CopyNewInvoices can
// send COPY inside it.
//
// The recalculation's tables (recalc_outbox, recalc_queue, customer_metrics,
// customer_metric_schedule) are package recalc's. Statements that write run in a GORM transaction
// their caller began and passes in; the caller owns the transaction. models imports nothing of ours.
package models
