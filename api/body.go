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
// without reading further than the limit. The limit applies to the bytes received and, for a
// gzipped body (see requestBody), to the decompressed bytes too: a gzip bomb is decompressed up
// to the limit and one byte, no further. A body of known length is read into one buffer of at
// least that size: *buf when it is large enough, else a new one, left in *buf for the caller to
// reuse.
//
// The body returned aliases *buf, so the caller may give *buf back to bodyBuffers only once
// nothing refers to the body. For the write routes that is when the handler returns: the rows are
// sub-slices of the body (validation.DecodeBody), but what validation and ingest keep of them
// is copied out (string conversions, messages built with fmt and strconv; no unsafe, no
// json.RawMessage in ingest.Result), and the NDJSON route already reuses its row buffer from one
// batch to the next on the same terms.
//
// Read errors are *models.Error (400), never taken for a database fault.
func (s *Server) readBody(c *gin.Context, buf *[]byte) ([]byte, error) {
	limit := s.Config.MaxBodyBytes
	if c.Request.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	body, err := decodedBody(c, http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		return nil, err
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
	n, err := b.ReadFrom(io.LimitReader(body, limit+1))
	*buf = b.Bytes() // it may have grown (a body of unknown length)
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr), n > limit:
		return nil, tooLarge(limit)
	case err != nil && models.ErrorCode(err) == models.EINTERNAL: // not one of requestBody's
		return nil, errors.Join(errBodyUnreadable, err)
	case err != nil:
		return nil, err
	}
	return *buf, nil
}

func tooLarge(limit int64) error {
	return models.Errorf(models.ETOOLARGE, "The request body exceeds %d bytes.", limit)
}
