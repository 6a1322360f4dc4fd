package api

import (
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"invoice-ingest/models"
)

// readBody reads the whole body, refusing bodies over INGEST_MAX_BODY_BYTES with 413 without
// reading further than the limit.
func (s *Server) readBody(c *gin.Context) ([]byte, error) {
	limit := s.Config.MaxBodyBytes
	if c.Request.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return nil, tooLarge(limit)
	}
	if err != nil {
		return nil, models.Errorf(models.EINVALID, "Could not read the request body.")
	}
	return body, nil
}

func tooLarge(limit int64) error {
	return models.Errorf(models.ETOOLARGE, "The request body exceeds %d bytes.", limit)
}
