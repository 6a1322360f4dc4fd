package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"invoice-ingest/models"
)

// bodyReadTimeout bounds how long a client may take to send a JSON body, so one that stops
// mid-body cannot hold a handler. NDJSON streams have no such bound: they may be long.
const bodyReadTimeout = 2 * time.Minute

// readBody reads the whole body into *buf, refusing bodies over INGEST_MAX_BODY_BYTES with 413
// without reading further than the limit. A body of known length is read into one buffer of that
// size: *buf when it is large enough, else a new one, left in *buf for the caller to reuse.
//
// The body returned aliases *buf, so the caller may give *buf back to bodyBuffers only once
// nothing refers to the body. For the write routes that is when the handler returns: the rows are
// sub-slices of the body (validation.DecodeBody), but what validation and ingest keep of them
// is copied out (string conversions, messages built with fmt and strconv; no unsafe, no
// json.RawMessage in ingest.Result), and the NDJSON route already reuses its row buffer from one
// batch to the next on the same terms.
func (s *Server) readBody(c *gin.Context, buf *[]byte) ([]byte, error) {
	limit := s.Config.MaxBodyBytes
	if c.Request.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(bodyReadTimeout))
	size := int64(bytes.MinRead)
	if c.Request.ContentLength > 0 {
		size += c.Request.ContentLength
	}
	if int64(cap(*buf)) < size {
		*buf = make([]byte, 0, size)
	}
	b := bytes.NewBuffer((*buf)[:0])
	_, err := b.ReadFrom(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	*buf = b.Bytes() // it may have grown (a body of unknown length)
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return nil, tooLarge(limit)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, models.Errorf(models.EINVALID, "Could not read the request body.")
	}
	return *buf, nil
}

func tooLarge(limit int64) error {
	return models.Errorf(models.ETOOLARGE, "The request body exceeds %d bytes.", limit)
}
