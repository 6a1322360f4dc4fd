// Package ingest owns the write path of customers, plans and invoices: raw rows are parsed and
// validated (package validation), their data sources, customers and plans resolved with one query
// per kind, in-request duplicates dropped (first wins), and the rest compared with the stored
// content hashes: identical rows are "unchanged" and never locked or rewritten, the others are
// upserted with one statement per chunk, whose RETURNING gives each row's exact status even under
// concurrency. Invoice writes queue their customers' recalculation in the same transaction.
//
// It knows nothing of HTTP: the api package and the tests drive it alike.
//
// The set-based statements run on the *sql.Tx inside GORM's transaction, with $n placeholders and
// Go slices that pgx encodes as PostgreSQL arrays: GORM's builder would expand a slice into one
// placeholder per element and cannot return per-row statuses.
//
// Rows are borrowed: the api package reuses request body buffers, so nothing ingest keeps after a
// batch call returns (results, errors, anything handed to another goroutine) may point into a
// row's bytes; keep copies (string conversions), never unsafe views.
package ingest
