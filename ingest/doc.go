// Package ingest owns the write path of customers, plans and invoices. For one batch:
//
//  1. Each row's key (id, data_source) is read (validation.RowKey), nothing else yet.
//  2. Data sources resolve (from a per-process cache, else one query); in-request duplicates are
//     marked (first wins); rows in error are parsed in full so they report every error.
//  3. Reads, outside any transaction: one probe per row of the stored row under its key, comparing
//     the digest of the row's exact JSON text (raw_hash) in PostgreSQL. A byte-identical row is
//     "unchanged" without being parsed; the others are parsed, validated and compared by content
//     digest (content_hash). Large batches whose sampled rows all differ skip the probe.
//  4. Only rows that differ are written, in one transaction: one upsert per chunk whose RETURNING
//     gives each row's exact status even under concurrency, then one recalculation outbox row
//     (invoices). References (customer, plan) are enforced by foreign keys; a batch they refuse
//     runs again after looking them up, which names the bad rows.
//
// Unchanged rows are thus never rewritten, and a re-sent batch takes no lock at all.
//
// It knows nothing of HTTP: the api package and the tests drive it alike.
//
// The set-based statements run on database/sql (the pool, or the *sql.Tx inside GORM's
// transaction), with $n placeholders and Go slices that pgx encodes as PostgreSQL arrays: GORM's
// builder would expand a slice into one placeholder per element and cannot return per-row statuses.
//
// Rows are borrowed: the api package reuses request body buffers, so nothing ingest keeps after a
// batch call returns (results, errors, anything handed to another goroutine) may point into a
// row's bytes; keep copies (string conversions), never unsafe views.
package ingest
