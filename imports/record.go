package imports

import (
	"context"
	"errors"
	"fmt"
	"invoice-ingest/models"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// MaxErrorRows is how many rows in error an import keeps; beyond, errors_truncated is set.
const MaxErrorRows = 10_000

// Import statuses.
const (
	Running     = "running"
	Completed   = "completed"
	Failed      = "failed"
	Interrupted = "interrupted"
)

// Header is what an import is before its rows: who sent what, when.
type Header struct {
	AccountID   uuid.UUID
	ID          uuid.UUID
	KeyID       uuid.UUID // the API key that sent it
	Entity      string    // customers, plans or invoices
	DryRun      bool
	ContentType string
	StartedAt   time.Time
}

// Counts are the outcomes of an import's rows.
type Counts struct {
	Rows, Inserted, Updated, Unchanged, Errors int64
}

// ErrorRow is a row in error as the errors route shows it: Line is its answer line up to the row
// ({"index":..,"id":..,"import_error":..,"errors":[..] without the closing brace), Raw the row as
// sent (nil when it was not kept), RawJSON whether Raw is JSON text.
type ErrorRow struct {
	Index   int64
	ID      string
	Line    []byte
	Raw     []byte
	RawJSON bool
}

// Batch is what one batch of an import adds: its counts, the data sources its rows named, its
// rows in error (in index order), and, for a request with an Idempotency-Key, the answer to keep.
type Batch struct {
	Counts
	Sources   []uuid.UUID
	ErrorRows []ErrorRow
	Answer    *Answer
	// Alone says the batch wrote nothing and is recorded in a statement of its own: its commit
	// does not wait for the WAL flush (synchronous_commit off for that transaction alone). A
	// database crash may lose such a record of a request that changed nothing, never one that
	// commits with rows; a re-sent request that changed nothing answers the same again.
	Alone bool
}

// Answer is the first answer to a request with an Idempotency-Key, stored in its write
// transaction (see Claim). Only the holder of the key's running row (Token) may store it.
type Answer struct {
	Key    string
	Token  uuid.UUID
	Status int
	Body   []byte
}

// ErrKeyLost says the Idempotency-Key's running row is no longer this request's (its lease ran
// out and another request took the key): its answer cannot be stored, so the write rolls back.
var ErrKeyLost = errors.New("imports: idempotency key taken over by another request")

// insertImportSQL records a JSON request's import at once, finished, with its counts.
var insertImportSQL = `
WITH imp AS (
    INSERT INTO imports (account_id, id, entity, status, dry_run, content_type, key_id, started_at,
        finished_at, heartbeat_at, row_count, inserted, updated, unchanged, errors, errors_truncated, source_ids)
    VALUES ($1, $2, $3, 'completed', $4, $5, $6, $7, $14::timestamptz, $14::timestamptz,
        $8, $9, $10, $11, $12::bigint, $12::bigint > ` + maxErrorRowsSQL + `, $13::uuid[])
    RETURNING 0::bigint AS before
)`

// chunkImportSQL adds a chunk's counts to a running import. (No '@' operator in SQL run through
// GORM: it takes any '@' for a named parameter.)
var chunkImportSQL = `
WITH imp AS (
    UPDATE imports
    SET row_count = row_count + $3, inserted = inserted + $4, updated = updated + $5,
        unchanged = unchanged + $6, errors = errors + $7::bigint,
        errors_truncated = errors_truncated OR errors + $7::bigint > ` + maxErrorRowsSQL + `,
        heartbeat_at = $9::timestamptz,
        source_ids = ARRAY(SELECT DISTINCT s FROM unnest(source_ids || $8::uuid[]) AS s)
    WHERE account_id = $1 AND id = $2
    RETURNING errors - $7::bigint AS before
)`

// maxErrorRowsSQL is MaxErrorRows in SQL text.
const maxErrorRowsSQL = "10000"

// errorsCTE inserts the batch's rows in error from arrays $n..$n+4, as long as the import keeps
// fewer than MaxErrorRows (imp.before: its errors before this batch).
func errorsCTE(n int) string {
	return fmt.Sprintf(`, errs AS (
    INSERT INTO import_errors (account_id, import_id, idx, row_id, line, raw, raw_json)
    SELECT $1, $2, e.idx, NULLIF(e.row_id, ''), e.line, e.raw, e.raw_json
    FROM imp, unnest($%d::bigint[], $%d::text[], $%d::text[], $%d::bytea[], $%d::boolean[])
        WITH ORDINALITY AS e(idx, row_id, line, raw, raw_json, ord)
    WHERE imp.before + e.ord <= %d
)`, n, n+1, n+2, n+3, n+4, MaxErrorRows)
}

// asyncCTE turns synchronous_commit off for the statement's own transaction (see Batch.Alone):
// set locally, it is still in force when that transaction commits.
const asyncCTE = `, async AS (SELECT set_config('synchronous_commit', 'off', true))`

// keyCTE stores the answer $n+3 (status $n+2) of the key $n held by token $n+1; the statement
// returns how many rows it stored (0: the key was lost).
func keyCTE(n int) string {
	return fmt.Sprintf(`, stored AS (
    UPDATE idempotency_keys
    SET status = 'done', response_status = $%d, response_body = $%d, import_id = $2
    WHERE account_id = $1 AND key = $%d AND token = $%d AND status = 'running'
    RETURNING 1
)
SELECT (SELECT count(*) FROM stored) + 0 * (SELECT count(*) FROM async)`, n+2, n+3, n, n+1)
}

// RecordRequest records a JSON request's import, with its one batch (and stores its answer when
// b.Answer is set), in one statement run in tx: the write transaction, or a plain session when
// the batch wrote nothing.
func RecordRequest(tx *gorm.DB, h Header, b Batch) error {
	args := []any{[16]byte(h.AccountID), [16]byte(h.ID), h.Entity, h.DryRun, h.ContentType, [16]byte(h.KeyID), h.StartedAt}
	return record(tx, insertImportSQL, true, args, b)
}

// RecordChunk adds one chunk of an NDJSON import (see Begin) in one statement run in tx.
func RecordChunk(tx *gorm.DB, h Header, b Batch) error {
	return record(tx, chunkImportSQL, false, []any{[16]byte(h.AccountID), [16]byte(h.ID)}, b)
}

// record runs head (the imp CTE) with the batch's counts, sources, the current instant (this
// process's clock: Citus refuses volatile functions in an UPDATE), error rows and answer. Only a
// statement that just inserts (inserting: head inserts, and no answer is stored) runs prepared,
// a plan cached for the connection: one that updates a row by its key (a stream's import row,
// an Idempotency-Key's row) is planned at every run, since a plan cached while its table was
// empty and vacuumed would read the whole table for every update as the table grows (see
// models.Prepared).
func record(tx *gorm.DB, head string, inserting bool, args []any, b Batch) error {
	args = append(args, b.Rows, b.Inserted, b.Updated, b.Unchanged, b.Errors, uuids(b.Sources), models.Now())
	e := errorArrays(b.ErrorRows)
	query := head
	if len(e.idx) > 0 { // most batches have no row in error: no statement part for them
		query += errorsCTE(len(args) + 1)
		args = append(args, e.idx, e.ids, e.lines, e.raws, e.json)
	}
	if b.Alone {
		query += asyncCTE
	} else {
		query += ", async AS (SELECT 1)"
	}
	if b.Answer == nil {
		if inserting {
			args = models.Prepared(tx, args...)
		}
		return tx.Exec(query+"\nSELECT (SELECT count(*) FROM async)", args...).Error
	}
	query += keyCTE(len(args) + 1)
	args = append(args, b.Answer.Key, [16]byte(b.Answer.Token), b.Answer.Status, b.Answer.Body)
	var stored int
	if err := tx.Raw(query, args...).Row().Scan(&stored); err != nil {
		return fmt.Errorf("record import: %w", err)
	}
	if stored != 1 {
		return ErrKeyLost
	}
	return nil
}

// errorRows is ErrorRows column-wise, for one INSERT ... SELECT FROM unnest.
type errorRows struct {
	idx   []int64
	ids   []string
	lines []string
	raws  [][]byte
	json  []bool
}

// errorArrays turns rows into arrays, at most MaxErrorRows of them (the rest would not be kept).
func errorArrays(rows []ErrorRow) errorRows {
	rows = rows[:min(len(rows), MaxErrorRows)]
	e := errorRows{idx: make([]int64, len(rows)), ids: make([]string, len(rows)), lines: make([]string, len(rows)),
		raws: make([][]byte, len(rows)), json: make([]bool, len(rows))}
	for i, r := range rows {
		e.idx[i], e.ids[i], e.lines[i], e.raws[i], e.json[i] = r.Index, r.ID, string(r.Line), r.Raw, r.RawJSON
	}
	return e
}

func uuids(ids []uuid.UUID) [][16]byte {
	out := make([][16]byte, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// RecordFailed records a JSON request whose batch failed as a whole (nothing was written): a
// finished import with status failed and no counts.
func RecordFailed(ctx context.Context, db *gorm.DB, h Header) error {
	err := db.WithContext(ctx).Exec(`
INSERT INTO imports (account_id, id, entity, status, dry_run, content_type, key_id, started_at, finished_at, heartbeat_at)
VALUES ($1, $2, $3, 'failed', $4, $5, $6, $7, clock_timestamp(), clock_timestamp())
ON CONFLICT DO NOTHING`, [16]byte(h.AccountID), [16]byte(h.ID), h.Entity, h.DryRun, h.ContentType, [16]byte(h.KeyID), h.StartedAt).Error
	if err != nil {
		return fmt.Errorf("record failed import: %w", err)
	}
	return nil
}
