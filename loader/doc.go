// Package loader pushes rows to the service in JSON batches: what `invoice-ingest push` and
// `invoice-ingest sync stripe` share. It reads rows one at a time from a Source (CSV, NDJSON,
// a JSON array, or rows another package makes), cuts them into numbered batches, sends up to
// Concurrency batches at once through the client (each with an Idempotency-Key derived from the
// run and the batch's bytes, so a retry never applies twice), and hands every answer to one
// collector goroutine that counts statuses, writes rows in error to the errors file, records
// acknowledged batches in the state file (--resume) and feeds the progress display. Memory is
// bounded whatever the input's size: at most 2 x Concurrency batches hold their rows (read and
// not yet answered, or answered with rows in error and not yet counted); an answered batch is
// reduced to its counts and its rows in error, and sending runs at most 32 x Concurrency
// batches ahead of the oldest one not yet counted (window.go). docs/cli.md describes the command.
package loader
