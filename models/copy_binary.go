package models

import (
	"encoding/binary"
	"slices"
	"sync"
	"time"
)

// copyBuffer builds the input of COPY ... FROM STDIN (FORMAT binary), as PostgreSQL's COPY
// documents it ("Binary Format"): a header, then per row the count of its fields and each field
// as its length (-1: NULL) and its value in the type's binary form, then a trailer.
//
// pgx's CopyFrom writes the same format from []any rows, but looks up an encoding plan for every
// value (two map lookups each) and boxes every value of every row: for a chunk of new invoices
// that was a fifth of the server's CPU. Our rows are columns of known types, so each value is
// written directly.
type copyBuffer struct{ b []byte }

// copySignature is the binary format's header: its signature, no flags, no header extension.
var copySignature = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// copyBuffers keeps COPY inputs between statements: a new buffer for each COPY was an eighth of
// the bytes an insert of new invoices allocated, all of it cleared before use.
var copyBuffers = sync.Pool{New: func() any { return new(copyBuffer) }}

// maxPooledCopyBuffer is the largest buffer put back in copyBuffers: one grown by rows of unusual
// size is left to the garbage collector rather than kept.
const maxPooledCopyBuffer = 1 << 20

// getCopyBuffer returns a buffer from copyBuffers; putCopyBuffer gives it back.
func getCopyBuffer() *copyBuffer { return copyBuffers.Get().(*copyBuffer) }

func putCopyBuffer(c *copyBuffer) {
	if cap(c.b) <= maxPooledCopyBuffer {
		copyBuffers.Put(c)
	}
}

// start empties c for a COPY input of about size bytes and writes its header.
func (c *copyBuffer) start(size int) {
	c.b = append(slices.Grow(c.b[:0], size), copySignature...)
}

// row starts a row of n fields.
func (c *copyBuffer) row(n int) { c.b = binary.BigEndian.AppendUint16(c.b, uint16(n)) }

func (c *copyBuffer) null() { c.b = binary.BigEndian.AppendUint32(c.b, 0xFFFFFFFF) }

func (c *copyBuffer) bytes(p []byte) {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(p)))
	c.b = append(c.b, p...)
}

// text writes a text (or varchar) value: its UTF-8 bytes.
func (c *copyBuffer) text(s string) {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(s)))
	c.b = append(c.b, s...)
}

// textOrNull writes "" as NULL.
func (c *copyBuffer) textOrNull(s string) {
	if s == "" {
		c.null()
		return
	}
	c.text(s)
}

// int8 writes a bigint.
func (c *copyBuffer) int8(v int64) {
	c.b = binary.BigEndian.AppendUint32(c.b, 8)
	c.b = binary.BigEndian.AppendUint64(c.b, uint64(v))
}

// int8OrNull writes nil as NULL.
func (c *copyBuffer) int8OrNull(p *int64) {
	if p == nil {
		c.null()
		return
	}
	c.int8(*p)
}

// uuid writes a uuid: its 16 bytes.
func (c *copyBuffer) uuid(u [16]byte) {
	c.b = binary.BigEndian.AppendUint32(c.b, 16)
	c.b = append(c.b, u[:]...)
}

// postgresEpoch is where PostgreSQL's timestamps count from, in Unix microseconds.
const postgresEpoch = 946_684_800 * 1_000_000

// timestamptz writes t as microseconds since 2000-01-01 UTC (finer digits are dropped, as
// PostgreSQL would round them; our timestamps are whole microseconds).
func (c *copyBuffer) timestamptz(t time.Time) {
	c.int8(t.UnixMicro() - postgresEpoch)
}

// end writes the trailer and returns the whole input.
func (c *copyBuffer) end() []byte { return binary.BigEndian.AppendUint16(c.b, 0xFFFF) }
