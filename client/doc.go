// Package client is a Go client of the invoice-ingest HTTP API (SPEC sections 3, 4 and 8), used
// by `invoice-ingest push` and `invoice-ingest sync stripe` and usable on its own.
//
// It sends rows as JSON batches (Upsert, with an Idempotency-Key per batch so that a retry is
// never applied twice) or as one NDJSON stream (Stream), and parses the per-row answers. Every
// call takes a context. Network errors, 429, 503 and other 5xx answers (and 409 while an earlier
// attempt with the same Idempotency-Key still runs) are retried with exponential backoff and
// jitter from 1 s, honouring Retry-After, up to 10 attempts; each wait is at most MaxDelay and
// is reported through OnRetry, so no caller blocks for minutes without knowing. Sleep and Rand
// are injectable for tests.
package client
