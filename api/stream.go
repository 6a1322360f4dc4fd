package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"invoice-ingest/imports"
	"invoice-ingest/ingest"
	"invoice-ingest/models"
	"invoice-ingest/validation"
)

// stream is one NDJSON request being served.
type stream struct {
	c       *gin.Context
	rc      *http.ResponseController
	timeout time.Duration // STREAM_IDLE_TIMEOUT: for each read, and for each write of results
	body    *streamBody
	in      *bufio.Reader
	out     *bufio.Writer
	written int // rows answered so far
	imp     imports.Header
}

// upsertStream serves an NDJSON body of any length: rows are read in order, a chunk at a time
// (see streamChunkRows); each chunk is its own transaction, and its results are written and
// flushed as soon as it commits, so memory stays flat in the number of rows. Chunks are
// pipelined (see pipeline): while one is written, the next ones are read, parsed and compared
// with the stored rows; they commit and are answered in input order. Blank lines are not
// rows. Indexes count rows from 0 across the whole stream; duplicates are detected within a chunk
// (a later chunk is a later write).
//
// The status (200) is sent with the first chunk's results, so a failure after that cannot change
// it: the stream then ends with one line {"error": <problem>}, and the client re-sends the rows
// after the last one answered (or the whole stream: rows already stored answer "unchanged"). So
// do a stream silent for STREAM_IDLE_TIMEOUT and, at its next chunk boundary, a stream running
// when the server is told to stop (Server.Stopping); the rows of an unfinished chunk are not
// written. At most MAX_STREAMS_PER_ACCOUNT streams of one account run at once.
//
// The stream is one import (imports.Begin at its start, a chunk's counts in the chunk's write
// transaction, its heartbeat kept fresh while it runs), finished at the end: completed when the
// body ended, interrupted by a shutdown, failed otherwise (see finishStatus).
func (s *Server) upsertStream(c *gin.Context, entity string, batch batchFunc, opt ingest.Options) {
	account := accountID(c)
	if !s.streams.acquire(account, s.Config.MaxStreamsPerAccount) {
		s.refuseStream(c)
		return
	}
	var err error
	defer func() { s.streams.ended(err) }() // last: the test hook sees the stream wholly over
	defer s.streams.release(account)
	imp := newImport(c, entity, typeNDJSON, opt)
	if err = imports.Begin(c.Request.Context(), s.DB.Gorm, imp); err != nil {
		writeError(c, err)
		return
	}
	stop := imports.KeepAlive(s.DB.Gorm, account, imp.ID)
	defer stop() // also when the handler panics; stopping twice is harmless
	st := s.openStream(c)
	st.imp = imp
	defer st.close()
	err = st.run(batch, opt, s.hooks)
	stop()
	s.finishImport(c, imp, finishStatus(err, st.body))
	st.end(err)
}

// finishStatus is the status of a stream's import that ended with err.
func finishStatus(err error, body *streamBody) string {
	switch {
	case err == io.EOF:
		return imports.Completed
	case errors.Is(err, errStopping) || (errors.Is(err, context.Canceled) && body.stopRequested()):
		return imports.Interrupted
	}
	return imports.Failed
}

// finishImport ends a stream's import, even when the client is gone. A failure is logged: the
// sweep marks the import interrupted once its heartbeat is old.
func (s *Server) finishImport(c *gin.Context, imp imports.Header, status string) {
	ctx, cancel := detached(c)
	defer cancel()
	if err := finishStreamImport(ctx, s.DB.Gorm, imp, status); err != nil {
		logger(c).Warn("finish import", "error", err.Error())
	}
}

// fill reads lines into ch until it is full or the reading ends: io.EOF after the last line
// (the chunk is complete), another error when a read failed (the line it cut is not a row).
func (st *stream) fill(ch *chunk) error {
	for {
		before := len(ch.arena)
		err := ch.readLine(st.in)
		switch {
		case errors.Is(err, errLineTooLong):
			err = nil
			ch.ends, ch.long = append(ch.ends, before), append(ch.long, true)
		case err != nil && err != io.EOF: // the line was cut: it is not a row
		case len(bytes.TrimSpace(ch.arena[before:])) == 0: // blank line: not a row
			ch.arena = ch.arena[:before]
		default:
			ch.ends, ch.long = append(ch.ends, len(ch.arena)), append(ch.long, false)
		}
		if err != nil || ch.full() {
			return err
		}
	}
}

// answer writes a chunk's results and flushes them.
func (st *stream) answer(f *flight) error {
	if st.written == 0 {
		startStream(st.c)
	}
	st.writeDeadline()
	for i, r := range f.res {
		if f.ch.long[i] {
			r = tooLongResult()
		}
		r.Index = f.base + i
		// One line per row, encoded straight into out's buffer (see appendRowResult).
		line := append(appendRowResult(st.out.AvailableBuffer(), r), '\n')
		if _, err := st.out.Write(line); err != nil {
			return errors.Join(errAnswerLost, err)
		}
	}
	st.written += len(f.res)
	if err := st.flush(); err != nil {
		return errors.Join(errAnswerLost, err)
	}
	return nil
}

// flush sends what out holds to the client, within the write deadline.
func (st *stream) flush() error {
	if err := st.out.Flush(); err != nil {
		return err
	}
	return st.rc.Flush()
}

// startStream sends the status and type of a stream, with its first results or as an empty one.
// The connection closes after a stream: it carries deadlines the next request must not inherit.
func startStream(c *gin.Context) {
	c.Header("Content-Type", "application/x-ndjson")
	c.Header("Connection", "close")
	c.Status(http.StatusOK)
}

// end ends a stream that stopped with err: with a problem answer while nothing is sent yet, else
// with a last line (see streamError).
func (st *stream) end(err error) {
	c := st.c
	st.writeDeadline()
	switch {
	case errors.Is(err, errAnswerLost): // the client went away or stopped reading: nobody reads more
		logger(c).Info("stream answer not delivered: the client went away or stopped reading",
			"error", err.Error(), "rows_answered", st.written)
	case err == io.EOF && st.written == 0: // an empty stream
		startStream(c)
	case err == io.EOF:
	case errors.Is(err, errStopping) || (errors.Is(err, context.Canceled) && st.body.stopRequested()):
		if st.written == 0 { // no 5xx because of a deploy: the status is 200 as usual
			startStream(c)
		}
		st.streamError(models.Errorf(models.EUNAVAILABLE,
			"The server is shutting down; re-send the rows after the last answered one."))
	case errors.Is(err, errIdle):
		idle := models.Errorf(models.EINVALID, "No byte of the stream arrived for %s; rows after the last answered one were not written: re-send them.", st.timeout)
		if st.written == 0 {
			writeError(c, idle)
			return
		}
		st.streamError(idle)
	case errors.Is(err, errBodyRead) && st.written == 0:
		writeError(c, models.Errorf(models.EINVALID, "Could not read the request body."))
	case errors.Is(err, errBodyRead): // the client cut its body: its fault, not ours (no 5xx log)
		st.streamError(models.Errorf(models.EINVALID, "Could not read the request body; rows after the last answered one were not written: re-send them."))
	case st.written == 0:
		writeError(c, err)
	default:
		st.streamError(err)
	}
}

// streamError ends a stream whose status is already sent with the problem as its last line.
func (st *stream) streamError(err error) {
	code, detail := classify(err)
	if code == models.EINTERNAL {
		logger(st.c).Error("stream failed", "error", err.Error())
	}
	_ = json.NewEncoder(st.out).Encode(gin.H{"error": newProblem(code, detail)})
	_ = st.flush()
}

// tooLongResult is the answer for a line over maxLineBytes.
func tooLongResult() ingest.Result {
	msg := fmt.Sprintf("Row is longer than %d bytes", maxLineBytes)
	return ingest.Result{Status: ingest.Failed, Errors: []validation.FieldError{{Code: validation.CodeInvalid, Message: msg}}}
}
