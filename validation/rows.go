package validation

import "encoding/json"

// Rows is a batch of raw rows on its way to ingest, with what is known of their JSON. Only
// DecodeBody makes Rows whose every row is known to be valid JSON (it validated the whole body),
// which lets the parsers skip checking each row again; Lines makes Rows nobody checked (NDJSON
// lines), which are checked row by row. The rows are borrowed: see package ingest.
type Rows struct {
	raw   []json.RawMessage
	keys  []rowKeyText // each row's key members, found by DecodeBody (nil for Lines)
	valid bool
}

// Lines returns Rows of raw rows whose JSON nobody has checked yet.
func Lines(raw []json.RawMessage) Rows { return Rows{raw: raw} }

// Len is the number of rows.
func (r Rows) Len() int { return len(r.raw) }

// At returns row i.
func (r Rows) At(i int) json.RawMessage { return r.raw[i] }

// ValidJSON tells whether every row is known to be valid JSON.
func (r Rows) ValidJSON() bool { return r.valid }

// Key is RowKey of row i. For the rows of a body DecodeBody noted where the key members are
// while it validated the body, so this reads only their values.
func (r Rows) Key(i int) (id, dataSource string, ok bool) {
	if r.keys == nil {
		return RowKey(r.raw[i])
	}
	return r.keys[i].read()
}
