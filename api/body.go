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

// readBody reads the whole body, refusing bodies over INGEST_MAX_BODY_BYTES with 413 without
// reading further than the limit. A body of known length is read into one buffer of that size.
func (s *Server) readBody(c *gin.Context) ([]byte, error) {
	limit := s.Config.MaxBodyBytes
	if c.Request.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(bodyReadTimeout))
	size := int64(bytes.MinRead)
	if c.Request.ContentLength > 0 {
		size += c.Request.ContentLength
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	_, err := buf.ReadFrom(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return nil, tooLarge(limit)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, models.Errorf(models.EINVALID, "Could not read the request body.")
	}
	return buf.Bytes(), nil
}

func tooLarge(limit int64) error {
	return models.Errorf(models.ETOOLARGE, "The request body exceeds %d bytes.", limit)
}
