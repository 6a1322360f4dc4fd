package api

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/imports"
	"invoice-ingest/ingest"
	"invoice-ingest/models"
	"invoice-ingest/webhooks"
)

// Every write request to /data/{customers,plans,invoices} that gets as far as its rows is an
// import (SPEC 4, docs/imports.md): its id goes out as Import-Id on the answer, and its counts and
// rows in error are recorded by ingest.Options.Record in the batch's write transaction. A request
// refused as a whole before its rows (a 4xx of the body, the content type or a limit) is none.

// importIDHeader carries an import's id on every answer to a write that is one.
const importIDHeader = "Import-Id"

// newImport starts the import of the write request c, of entity, and sets Import-Id.
func newImport(c *gin.Context, entity, contentType string, opt ingest.Options) imports.Header {
	k := apiKey(c)
	h := imports.Header{AccountID: k.AccountID, ID: uuid.New(), KeyID: k.ID, Entity: entity, DryRun: opt.DryRun,
		ContentType: contentType, StartedAt: time.Now().UTC().Truncate(time.Microsecond)}
	c.Header(importIDHeader, h.ID.String())
	return h
}

// importBatch is what a batch's results add to its import. offset is the index of the batch's
// first row in its request (a stream's chunk); raw returns the i-th row of the batch as sent
// (nil when it was not kept) and whether it is known to be JSON text. Only the rows in error are
// encoded, and only as many as the import may still keep.
func importBatch(res []ingest.Result, sources []uuid.UUID, offset int, raw func(i int) ([]byte, bool)) imports.Batch {
	b := imports.Batch{Sources: sources}
	b.Rows = int64(len(res))
	for i, r := range res {
		switch r.Status {
		case ingest.Inserted:
			b.Inserted++
		case ingest.Updated:
			b.Updated++
		case ingest.Unchanged:
			b.Unchanged++
		default:
			b.Errors++
			if len(b.ErrorRows) >= imports.MaxErrorRows {
				continue
			}
			r.Index += offset
			row, known := raw(i)
			b.ErrorRows = append(b.ErrorRows, imports.ErrorRow{Index: int64(r.Index), ID: r.ID,
				Line: appendErrorLine(nil, r), Raw: row, RawJSON: row != nil && (known || json.Valid(row))})
		}
	}
	return b
}

// detached is a context for what must be recorded although the request's context ended (the
// client went away): bounded, and not canceled with the request.
func detached(c *gin.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(c.Request.Context()), 10*time.Second)
}

// afterFailure gives back the Idempotency-Key of a JSON request whose batch failed (nothing
// committed) and records its import as failed, in the background: the client has its answer at
// once, also when the failure is a database that does not answer, where this bookkeeping waits up
// to its own bound. A failure of either is logged; the key frees itself when its lease ends.
func (s *Server) afterFailure(c *gin.Context, held *heldKey, h imports.Header) {
	ctx, cancel := detached(c)
	account, log := accountID(c), logger(c) // c is not used once the handler returns
	go func() {
		defer cancel()
		if held != nil {
			if err := imports.ReleaseKey(ctx, s.DB.Gorm, account, held.key, held.token); err != nil {
				log.Warn("release idempotency key; it frees itself when its lease ends", "error", err.Error())
			}
		}
		if err := imports.RecordFailed(ctx, s.DB.Gorm, h); err != nil {
			log.Warn("record failed import", "error", err.Error())
		}
	}()
}

// recordImport records a JSON request's import, finished, and its webhook events (SPEC 9) in
// tx: the write transaction, or, when the batch wrote nothing, the plain session tx is then. A
// batch that wrote nothing (a re-sent batch, mostly) records its import with one statement when
// the account watches no import event, and in a transaction of its own with the events when it
// does: a transaction would cost it three round trips more (begin, the events' read, commit).
func recordImport(ctx context.Context, tx *gorm.DB, imp imports.Header, b imports.Batch, wrote bool) error {
	record := func(tx *gorm.DB) error {
		if err := imports.RecordRequest(tx, imp, b); err != nil {
			return err
		}
		return webhooks.ImportFinished(ctx, tx, imp.AccountID, imp.ID, models.Now())
	}
	if wrote {
		return record(tx)
	}
	switch watched, err := webhooks.ImportWatched(ctx, tx, imp.AccountID); {
	case err != nil:
		return err
	case !watched:
		return imports.RecordRequest(tx, imp, b)
	}
	return models.TxError(ctx, tx.Transaction(record))
}

// finishStreamImport ends a stream's import with status and, in the same transaction, records
// its webhook events.
func finishStreamImport(ctx context.Context, db *gorm.DB, imp imports.Header, status string) error {
	return models.Transaction(ctx, db, func(tx *gorm.DB) error {
		if err := imports.Finish(ctx, tx, imp.AccountID, imp.ID, status); err != nil || status != imports.Completed {
			return err
		}
		return webhooks.ImportFinished(ctx, tx, imp.AccountID, imp.ID, models.Now())
	})
}
