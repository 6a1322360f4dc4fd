package ingest

import (
	"encoding/json"

	"github.com/google/uuid"

	"invoice-ingest/validation"
)

// row is one request row on its way through the pipeline.
type row[R any] struct {
	index     int
	raw       json.RawMessage
	parsed    bool // val is set and the parse's errors are in errs; a row is parsed once
	val       *R   // set once parsed; a row answered unchanged by its text never is
	id        string
	sourceRef string
	source    uuid.UUID
	errs      []validation.FieldError // what validation found, then what the database found
	rawHash   digest                  // of raw, see rawDigest
	hash      digest                  // of the content, once hashed
	hashed    bool
	status    Status
}

// readKeys makes the batch's rows, reading only each row's key (id, data_source): a row
// byte-identical to the one stored under its key is unchanged and is never parsed (see
// compareGroup). A row whose key does not read cleanly is parsed now, for its errors.
func readKeys[R any](k *kind[R], raws validation.Rows) []row[R] {
	rows := k.takeRows(raws.Len())
	validJSON := raws.ValidJSON()
	for i := range rows {
		r := &rows[i]
		r.index, r.raw = i, raws.At(i)
		if id, source, ok := raws.Key(i); ok {
			r.id, r.sourceRef = id, source
			continue
		}
		r.parse(k, validJSON)
	}
	return rows
}

// takeRows returns n zero rows, from a finished batch when one left enough room: the rows of a
// 1,000-row batch are 176 KB, the largest allocation of a re-sent batch. The batch gives them
// back with giveRows once its results are made.
func (k *kind[R]) takeRows(n int) []row[R] {
	if p, ok := k.rowSlices.Get().(*[]row[R]); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]row[R], n)
}

// giveRows keeps rows for a later batch. Nothing may use them any more: results copy what they
// need (a row's id and errors, which the next batch's rows do not share). Only the rows in use
// are cleared: past them, a kept slice is still zero, so a small batch does not pay for the room
// a large one left.
func (k *kind[R]) giveRows(rows []row[R]) {
	clear(rows) // no stale row may keep a value, its errors or its request body reachable
	rows = rows[:0]
	k.rowSlices.Put(&rows)
}

// parse parses the row in full, once.
func (r *row[R]) parse(k *kind[R], validJSON bool) {
	if r.parsed {
		return
	}
	parse := k.parse
	if validJSON {
		parse = k.parseValid
	}
	v, errs := parse(r.raw)
	r.val = &v
	if len(errs) > 0 { // the fields' errors come first, whenever the row is parsed
		r.errs = append(errs, r.errs...)
	}
	r.id, r.sourceRef = k.ident(r.val)
	r.parsed = true
}

// contentHash sets the digest of the parsed row's content, once.
func (r *row[R]) contentHash(k *kind[R], h *hasher) {
	if !r.hashed {
		r.hash, r.hashed = k.hash(h, r.val), true
	}
}

// sourceGroup is the valid rows of one data source, sorted by id.
type sourceGroup[R any] struct {
	source  uuid.UUID
	rows    []*row[R]
	changed []*row[R] // the rows to write, set by compareGroup
}
