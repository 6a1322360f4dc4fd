// Package imports records every write request as an import (SPEC 4) and keeps the answers of
// requests sent with an Idempotency-Key (SPEC 3). It owns the tables imports, import_errors and
// idempotency_keys: all SQL touching them is here. The design is in docs/imports.md.
//
// An import's counts and error rows are committed with the rows they count: the write path
// (ingest.Options.Record) calls RecordRequest or RecordChunk inside its write transaction, or in a
// statement of its own when the batch writes nothing. A JSON request's import is one row inserted
// once, finished, in that statement; an NDJSON stream's import is inserted at the stream's start
// (Begin) as running, grows chunk by chunk, and is finished (Finish) at the end, its heartbeat
// kept fresh meanwhile (Heartbeat), so that the sweep (Sweep) can tell a stream whose process died
// and mark it interrupted. Sweep also applies IMPORTS_RETENTION and IDEMPOTENCY_TTL.
//
// The metrics of an import (customers queued, pending, caught up) are recalc's: recalc owns their
// counter (recalc.Progress), folded with its queue; Get and List read it through
// recalc.ImportProgress.
//
// Arrows: api -> imports -> recalc, models. Nothing here knows HTTP.
package imports
