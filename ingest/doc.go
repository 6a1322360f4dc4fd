// Package ingest owns the write path of customers, plans and invoices. For one batch:
//
//  1. Each row's key (id, data_source) is read (validation.Rows.Key: noted by DecodeBody while it
//     validated a JSON body, or read from an NDJSON line in one walk), nothing else yet.
//  2. Data sources resolve (from a per-process cache, else one query); in-request duplicates are
//     marked (first wins); rows in error are parsed in full so they report every error.
//  3. Reads, outside any transaction: one probe per row of the stored row under its key, comparing
//     the digest of the row's exact JSON text (raw_hash) in PostgreSQL. A byte-identical row is
//     "unchanged" without being parsed; the others are parsed, validated and compared by content
//     digest (content_hash). Large batches whose sampled rows all differ skip the probe.
//  4. Only rows that differ are written, in one transaction: one upsert per chunk whose RETURNING
//     gives each row's exact status even under concurrency (invoices found absent are first
//     inserted on their own, so a new import locks nothing beforehand: by binary COPY when
//     they are at least copyMinRows, which fails and runs the transaction again with an INSERT
//     that leaves stored rows alone if one of them was stored after all; stored invoices go to
//     an upsert that rewrites only those keeping their customer, and only the ones it leaves are
//     read under lock for their previous customer before their own upsert), then one
//     recalculation outbox row (invoices). References (customer, plan) are
//     enforced by foreign keys; a batch they refuse runs again after looking them up, which names
//     the bad rows. At most Writers write transactions of one account run at once (writers.go).
//     Batches whose reads run at once may be ordered (Options.Order, order.go: an NDJSON
//     stream's chunks): their transactions may overlap when their rows do not, and commit in
//     the caller's order.
//
// Unchanged rows are thus never rewritten, and a re-sent batch takes no lock at all.
//
// It knows nothing of HTTP: the api package and the tests drive it alike. It owns no table and
// holds no SQL: the statements are package models' (probe, upserts, reference lookups), and the
// recalculation outbox is package recalc's. Each Service method owns its transaction: a GORM
// transaction (inTx) handed to those statements.
//
// Files, in pipeline order: row.go (the row model, reading keys), prepare.go (data sources,
// duplicates, grouping), probe.go (stored state, sampling), references.go, write.go (the write
// transaction), writers.go (the turns of an account's writers), order.go (ordered batches),
// results.go; kind.go and customers.go, plans.go, invoices.go say what differs between the three
// entities; hash.go the digests; memo.go what a Service remembers between batches; archive.go
// archive and restore.
//
// Rows are borrowed: the api package reuses request body buffers, so nothing ingest keeps after a
// batch call returns (results, errors, anything handed to another goroutine) may point into a
// row's bytes; keep copies (string conversions), never unsafe views. The pipeline's own rows
// (row.go) and the duplicate check's map are reused by later batches too, so the same holds for
// them: nothing may point into them once the batch call returns.
package ingest
