package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"invoice-ingest/ingest"
	"invoice-ingest/models"
	"invoice-ingest/validation"
)

// maxLineBytes bounds one NDJSON row; a longer line is an error row, not the end of the stream.
const maxLineBytes = 1 << 20

// streamChunkRows is how many rows make one chunk: one transaction, then one flush of results.
const streamChunkRows = 1000

// errLineTooLong marks a line over maxLineBytes; errBodyRead a failure to read the body.
var (
	errLineTooLong = errors.New("line too long")
	errBodyRead    = errors.New("read body")
)

// chunk is the rows of one chunk, copied out of the reader's buffer into one arena.
type chunk struct {
	arena []byte
	ends  []int  // end offset of each row in arena
	long  []bool // the row's line was over maxLineBytes (its bytes are not kept)
	rows  []json.RawMessage
}

func (ch *chunk) reset() { ch.arena, ch.ends, ch.long = ch.arena[:0], ch.ends[:0], ch.long[:0] }

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

// upsertStream serves an NDJSON body of any length: rows are read in order, a chunk at a time;
// each chunk is its own transaction, and its results are written and flushed as soon as it
// commits, so memory stays flat in the number of rows. Blank lines are not rows. Indexes count
// rows from 0 across the whole stream; duplicates are detected within a chunk (a later chunk is a
// later write).
//
// The status (200) is sent with the first chunk's results, so a failure after that cannot change
// it: the stream then ends with one line {"error": <problem>}, and the client re-sends the whole
// stream (rows already stored answer "unchanged").
func (s *Server) upsertStream(c *gin.Context, batch batchFunc, opt ingest.Options) {
	// Go's HTTP/1 server stops reading a request body once the response has started, unless told.
	_ = http.NewResponseController(c.Writer).EnableFullDuplex()
	in := bufio.NewReaderSize(orFailing(requestBody(c)), 64<<10)
	out := bufio.NewWriterSize(c.Writer, 64<<10)
	ch := &chunk{}
	written := 0 // rows answered so far

	send := func() error {
		if len(ch.ends) == 0 {
			return nil
		}
		res, err := batch(c.Request.Context(), accountID(c), validation.Lines(ch.raw()), opt)
		if err != nil {
			return err
		}
		if written == 0 {
			startStream(c)
		}
		for i, r := range res {
			if ch.long[i] {
				r = tooLongResult()
			}
			r.Index = written + i
			// One line per row, encoded straight into out's buffer (see appendRowResult).
			line := append(appendRowResult(out.AvailableBuffer(), r), '\n')
			if _, err := out.Write(line); err != nil {
				return err
			}
		}
		written += len(res)
		ch.reset()
		if err := out.Flush(); err != nil {
			return err
		}
		c.Writer.Flush()
		return nil
	}

	var err error
	for err == nil {
		before := len(ch.arena)
		ch.arena, err = readLine(in, ch.arena)
		switch {
		case errors.Is(err, errLineTooLong):
			ch.arena, err = ch.arena[:before], nil
			ch.ends, ch.long = append(ch.ends, before), append(ch.long, true)
		case len(bytes.TrimSpace(ch.arena[before:])) == 0: // blank line: not a row
			ch.arena = ch.arena[:before]
		default:
			ch.ends, ch.long = append(ch.ends, len(ch.arena)), append(ch.long, false)
		}
		if len(ch.ends) == streamChunkRows || err == io.EOF {
			if serr := send(); serr != nil {
				err = serr
			}
		}
	}
	endStream(c, out, err, written)
}

// startStream sends the status and type of a stream, with its first results or as an empty one.
func startStream(c *gin.Context) {
	c.Header("Content-Type", "application/x-ndjson")
	c.Status(http.StatusOK)
}

// endStream ends a stream that stopped with err, written rows having been answered: with a problem
// answer while nothing is sent yet, else with a last line (see streamError).
func endStream(c *gin.Context, out *bufio.Writer, err error, written int) {
	switch {
	case err == io.EOF && written == 0: // an empty stream
		startStream(c)
	case err == io.EOF:
	case errors.Is(err, errBodyRead) && written == 0:
		writeError(c, models.Errorf(models.EINVALID, "Could not read the request body."))
	case written == 0:
		writeError(c, err)
	default:
		streamError(c, out, err)
	}
}

// streamError ends a stream whose status is already sent with the problem as its last line.
func streamError(c *gin.Context, out *bufio.Writer, err error) {
	code, detail := classify(err)
	if code == models.EINTERNAL {
		logger(c).Error("stream failed", "error", err.Error())
	}
	_ = json.NewEncoder(out).Encode(gin.H{"error": newProblem(code, detail)})
	_ = out.Flush()
}

// readLine appends the next line, without its line ending, to dst. After the last line it
// returns io.EOF (with that line, if it had no newline). A line over maxLineBytes is read to its
// end, not kept, and reported as errLineTooLong.
func readLine(in *bufio.Reader, dst []byte) ([]byte, error) {
	start, n := len(dst), 0
	for {
		part, err := in.ReadSlice('\n')
		n += len(part)
		if n <= maxLineBytes {
			dst = append(dst, part...)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil && err != io.EOF:
			return dst[:start], errors.Join(errBodyRead, err)
		case n > maxLineBytes:
			return dst[:start], errLineTooLong
		}
		end := len(dst) // drop the line ending, within this line only
		if end > start && dst[end-1] == '\n' {
			end--
			if end > start && dst[end-1] == '\r' {
				end--
			}
		}
		return dst[:end], err
	}
}

// tooLongResult is the answer for a line over maxLineBytes.
func tooLongResult() ingest.Result {
	msg := fmt.Sprintf("Row is longer than %d bytes", maxLineBytes)
	return ingest.Result{Status: ingest.Failed, Errors: []validation.FieldError{{Code: validation.CodeInvalid, Message: msg}}}
}
