package ingest

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/models"
	"invoice-ingest/recalc"
)

// writeGroups writes every group's changed rows, one statement per chunk, and queues their
// customers' recalculation, in one transaction (retried as a whole after a deadlock), and
// records the batch (Options.Record) in that transaction.
//
// With an Order, the transaction waits for the batches before it to commit (Order.Commit) after
// its writes and before Options.Record. The rows it locked until then are its own (the batches
// still uncommitted before it lock other keys, see rowKeys) or shared without conflict: foreign
// keys take KEY SHARE locks on customers and plans, and the outbox and import progress are
// appended to. Options.Record updates the import's row, which every chunk of a stream updates:
// recorded after that wait, when every chunk before has committed and none after can have
// passed its own wait, no chunk of the stream holds that row.
//
// The statuses compareGroup set were read without locks; the upsert's RETURNING decides under
// lock, so a concurrent writer can only turn a row into "unchanged" (it wrote the same content
// first) or an expected insert into an update.
//
// New rows go in by COPY (k.copyNew) until PostgreSQL refuses one (see models.ErrCopyRefused:
// one was stored after all, or Citus refused it for any reason); the attempt it refuses is
// rolled back, the transaction runs again with INSERT ... ON CONFLICT DO NOTHING (k.insertNew),
// and the source's next large batch is probed row by row.
func writeGroups[R any](ctx context.Context, s *Service, k *kind[R], account uuid.UUID, now time.Time, groups []*sourceGroup[R], rec *recorder) error {
	useCopy := true
	return s.inTx(ctx, account, rec.order, func(tx *gorm.DB) error {
		var queue []recalc.CustomerKey
		for _, g := range groups {
			if err := lockUnchanged(ctx, tx, k, account, g); err != nil {
				return err
			}
			for chunk := range slices.Chunk(g.changed, s.chunkSize()) {
				keys, err := writeChunk(ctx, tx, k, account, g.source, now, chunk, useCopy)
				if errors.Is(err, models.ErrCopyRefused) {
					useCopy = false
					s.resending.put(sourceKey{account, g.source}, true)
				}
				if err != nil {
					return err
				}
				queue = append(queue, keys...)
			}
		}
		if err := recalc.EnqueueImport(ctx, tx, rec.importID, queue); err != nil {
			return err
		}
		if rec.order != nil {
			if err := rec.order.Commit(ctx, tx); err != nil {
				return err
			}
		}
		if rec.record != nil {
			return rec.record(tx, true)
		}
		return nil
	})
}

// writeChunk writes one chunk of a source's changed rows in tx, sets their statuses, and returns
// the customers whose metrics the write changed: for invoices, each written row's customer and,
// for an invoice moved to another customer, the previous one too. Invoices the reads found
// absent are inserted first by a statement that leaves stored rows alone (k.insertNew): a new row
// has no previous customer, so an import of new invoices locks nothing beforehand. The others go
// to writeKept, which writes the rows that keep their customer; only the rows it leaves (moved or
// unchanged, locked) have their previous customer read under that lock (models.
// LockInvoiceCustomers) before the upsert.
func writeChunk[R any](ctx context.Context, tx *gorm.DB, k *kind[R], account, source uuid.UUID, now time.Time, chunk []*row[R], useCopy bool) ([]recalc.CustomerKey, error) {
	written, rest, err := insertNew(ctx, tx, k, account, source, now, chunk, useCopy)
	if err != nil {
		return nil, err
	}
	var previous map[string]string
	if k.customer != nil && len(rest) > 0 {
		if rest, previous, err = writeKept(ctx, tx, k, account, source, now, rest, written); err != nil {
			return nil, err
		}
	}
	if len(rest) > 0 {
		upserted, err := k.write(ctx, tx, account, source, now, rest)
		if err != nil {
			return nil, err
		}
		maps.Copy(written, upserted)
	}
	var queue []recalc.CustomerKey
	for _, r := range chunk {
		inserted, ok := written[r.id]
		switch {
		case !ok:
			r.status = Unchanged
		case inserted:
			r.status = Inserted
		default:
			r.status = Updated
		}
		if !ok || k.customer == nil {
			continue
		}
		customer := k.customer(r.val)
		queue = append(queue, recalc.CustomerKey{AccountID: account, SourceID: source, CustomerID: customer})
		prev, stored := previous[r.id]
		switch {
		case !inserted && !stored:
			return nil, errRaced // inserted by another writer after the lock: its customer is unknown
		case stored && prev != customer:
			queue = append(queue, recalc.CustomerKey{AccountID: account, SourceID: source, CustomerID: prev})
		}
	}
	return queue, nil
}

// writeKept writes rows with k.writeKept and adds what it wrote to written. It returns the rows
// it left, each stored and locked, and the customer every stored row it saw belongs to before this
// write: a row it rewrote kept its customer, and the rows it left have theirs read under the lock
// (a moved invoice's previous customer is queued too).
func writeKept[R any](ctx context.Context, tx *gorm.DB, k *kind[R], account, source uuid.UUID, now time.Time, rows []*row[R], written models.Written) ([]*row[R], map[string]string, error) {
	kept, err := k.writeKept(ctx, tx, account, source, now, rows)
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(written, kept)
	previous := make(map[string]string, len(rows))
	var rest []*row[R]
	var ids []string
	for _, r := range rows {
		inserted, ok := kept[r.id]
		switch {
		case !ok:
			rest, ids = append(rest, r), append(ids, r.id)
		case !inserted:
			previous[r.id] = k.customer(r.val)
		}
	}
	if len(ids) == 0 {
		return nil, previous, nil
	}
	moved, err := models.LockInvoiceCustomers(ctx, tx, account, source, ids)
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(previous, moved)
	return rest, previous, nil
}

// copyMinRows is the fewest new rows of a chunk written by COPY. A COPY takes two round trips
// (the statement, then the rows) where the INSERT takes one, so small writes keep the INSERT; the
// bound is a judgment, not a measurement.
const copyMinRows = 100

// insertNew inserts the chunk's rows the reads found absent (status Inserted) with k.insertNew,
// or k.copyNew when useCopy and they are at least copyMinRows, when the kind has one, and
// returns them as written and the chunk's other rows, in order: those found stored, and those
// stored meanwhile by another writer.
func insertNew[R any](ctx context.Context, tx *gorm.DB, k *kind[R], account, source uuid.UUID, now time.Time, chunk []*row[R], useCopy bool) (models.Written, []*row[R], error) {
	written := make(models.Written, len(chunk))
	if k.insertNew == nil {
		return written, chunk, nil
	}
	var fresh []*row[R]
	for _, r := range chunk {
		if r.status == Inserted {
			fresh = append(fresh, r)
		}
	}
	if len(fresh) == 0 {
		return written, chunk, nil
	}
	insert := k.insertNew
	if useCopy && k.copyNew != nil && len(fresh) >= copyMinRows {
		insert = k.copyNew
	}
	inserted, err := insert(ctx, tx, account, source, now, fresh)
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(written, inserted)
	rest := make([]*row[R], 0, len(chunk)-len(inserted))
	for _, r := range chunk {
		if _, ok := inserted[r.id]; !ok {
			rest = append(rest, r)
		}
	}
	return written, rest, nil
}

// errRaced says a row the reads found unchanged was changed by another writer before this batch's
// write transaction locked it: the batch is decided again from the start.
var errRaced = errors.New("ingest: a row found unchanged changed before the write")

// lockUnchanged share-locks the group's rows that the reads found unchanged and checks they still
// are, so that answering them unchanged and writing the others is one serial step: without it, a
// batch B committed between this batch's reads and its write could leave this batch's unchanged
// rows as B wrote them and its changed rows as this batch did, which no serial order gives.
// Batches that write nothing take no lock.
func lockUnchanged[R any](ctx context.Context, tx *gorm.DB, k *kind[R], account uuid.UUID, g *sourceGroup[R]) error {
	var ids []string
	var raws, contents [][]byte
	for _, r := range g.rows { // sorted by id
		if r.status != Unchanged {
			continue
		}
		var content []byte
		if r.hashed {
			content = r.hash[:]
		}
		ids, raws, contents = append(ids, r.id), append(raws, r.rawHash[:]), append(contents, content)
	}
	same, err := models.LockUnchanged(ctx, tx, k.entity, account, g.source, ids, raws, contents)
	if err == nil && !same {
		err = errRaced
	}
	return err
}
