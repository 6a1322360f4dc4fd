package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"sync"
)

// maxLineBytes bounds one NDJSON row; a longer line is an error row, not the end of the stream.
const maxLineBytes = 1 << 20

// A chunk is cut at streamChunkRows rows or once its rows hold streamChunkBytes of text, whichever
// comes first: one transaction, then one flush of results. The byte budget bounds a stream's
// memory whatever its rows hold: 1000 rows of 1 MiB would otherwise be 1 GiB in one chunk.
const (
	streamChunkRows  = 1000
	streamChunkBytes = 4 << 20
)

// An arena up to smallArenaBytes is the stream's own and is kept between chunks; a chunk that
// needs more moves into a big arena from bigArenas, which holds the largest chunk possible (just
// under streamChunkBytes, plus one line of maxLineBytes) and so never grows, and goes back to the
// pool once the chunk is answered. An idle or slow stream thus keeps at most smallArenaBytes.
const (
	smallArenaBytes = 1 << 20
	bigArenaBytes   = streamChunkBytes + maxLineBytes
)

var bigArenas = sync.Pool{New: func() any { b := make([]byte, 0, bigArenaBytes); return &b }}

// errLineTooLong marks a line over maxLineBytes; errBodyRead a failure to read the body;
// errAnswerLost a failure to send results (the client went away or stopped reading).
var (
	errLineTooLong = errors.New("line too long")
	errBodyRead    = errors.New("read body")
	errAnswerLost  = errors.New("send results")
)

// chunk is the rows of one chunk, copied out of the reader's buffer into one arena.
type chunk struct {
	arena []byte
	small []byte  // the stream's own arena, kept aside while a big one is in use
	big   *[]byte // the pooled arena in use, nil when none
	ends  []int   // end offset of each row in arena
	long  []bool  // the row's line was over maxLineBytes (its bytes are not kept)
	rows  []json.RawMessage
}

// full reports whether the chunk must be cut now.
func (ch *chunk) full() bool {
	return len(ch.ends) >= streamChunkRows || len(ch.arena) >= streamChunkBytes
}

// reset empties the chunk once it is answered, giving a big arena back to its pool.
func (ch *chunk) reset() {
	clear(ch.rows) // no stale row may keep a pooled arena reachable
	ch.rows = ch.rows[:0]
	if ch.big != nil {
		*ch.big = ch.arena[:0]
		bigArenas.Put(ch.big)
		ch.arena, ch.small, ch.big = ch.small, nil, nil
	}
	ch.arena, ch.ends, ch.long = ch.arena[:0], ch.ends[:0], ch.long[:0]
}

// raw returns the rows as the ingest batch takes them.
func (ch *chunk) raw() []json.RawMessage {
	ch.rows = ch.rows[:0]
	start := 0
	for _, end := range ch.ends {
		ch.rows = append(ch.rows, ch.arena[start:end])
		start = end
	}
	return ch.rows
}

// add appends p to the arena, moving into a big arena rather than growing past smallArenaBytes.
func (ch *chunk) add(p []byte) {
	need := len(ch.arena) + len(p)
	if need > cap(ch.arena) && need > smallArenaBytes && ch.big == nil {
		ch.big = bigArenas.Get().(*[]byte)
		ch.small = ch.arena
		ch.arena = append((*ch.big)[:0], ch.arena...)
	}
	ch.arena = append(ch.arena, p...)
}

// readLine appends the next line, without its line ending, to the arena. After the last line it
// returns io.EOF (with that line, if it had no newline). A line over maxLineBytes is read to its
// end, not kept, and reported as errLineTooLong; a read error drops the line it cut.
func (ch *chunk) readLine(in *bufio.Reader) error {
	start, n := len(ch.arena), 0
	for {
		part, err := in.ReadSlice('\n')
		n += len(part)
		if n <= maxLineBytes {
			ch.add(part)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil && err != io.EOF:
			ch.arena = ch.arena[:start]
			return errors.Join(errBodyRead, err)
		case n > maxLineBytes:
			ch.arena = ch.arena[:start]
			return errLineTooLong
		}
		end := len(ch.arena) // drop the line ending, within this line only
		if end > start && ch.arena[end-1] == '\n' {
			end--
			if end > start && ch.arena[end-1] == '\r' {
				end--
			}
		}
		ch.arena = ch.arena[:end]
		return err
	}
}
