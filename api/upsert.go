package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"invoice-ingest/ingest"
	"invoice-ingest/models"
	"invoice-ingest/validation"
)

// batchFunc is one of ingest.Service's batch methods.
type batchFunc func(ctx context.Context, account uuid.UUID, rows []json.RawMessage, opt ingest.Options) ([]ingest.Result, error)

// rowResult is the answer for one row.
type rowResult struct {
	Index        int          `json:"index"`
	ID           *string      `json:"id"`
	ImportStatus string       `json:"import_status"`
	ImportError  string       `json:"import_error,omitempty"`
	Errors       []fieldError `json:"errors,omitempty"`
}

type fieldError struct {
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func toRowResult(r ingest.Result) rowResult {
	out := rowResult{Index: r.Index, ImportStatus: string(r.Status)}
	if r.ID != "" {
		id := r.ID
		out.ID = &id
	}
	if len(r.Errors) > 0 {
		out.Errors = make([]fieldError, len(r.Errors))
		msg := make([]byte, 0, 64)
		for i, e := range r.Errors {
			out.Errors[i] = fieldError{Field: e.Field, Code: e.Code, Message: e.Message}
			if i > 0 {
				msg = append(msg, "; "...)
			}
			msg = append(msg, e.Message...)
		}
		out.ImportError = string(msg)
	}
	return out
}

// upsert serves POST /data/{customers,plans,invoices}: a JSON object or array of rows, or an
// NDJSON stream (see upsertStream), answered with one result per row in request order.
func (s *Server) upsert(batch batchFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		opt, err := options(c)
		if err != nil {
			writeError(c, err)
			return
		}
		switch c.ContentType() {
		case "application/json", "":
		case "application/x-ndjson":
			s.upsertStream(c, batch, opt)
			return
		default:
			writeError(c, models.Errorf(models.EMEDIATYPE,
				"Content-Type must be application/json or application/x-ndjson."))
			return
		}
		body, err := s.readBody(c)
		if err != nil {
			writeError(c, err)
			return
		}
		rows, err := validation.DecodeBodyLimit(body, s.Config.MaxRows)
		switch {
		case errors.Is(err, validation.ErrTooManyRows):
			writeError(c, models.Errorf(models.ETOOLARGE, "A request holds at most %d rows; send more as several requests or as NDJSON.", s.Config.MaxRows))
			return
		case err != nil:
			writeError(c, models.Errorf(models.EINVALID, "%s", bodyProblem(err)))
			return
		}
		opt.ValidJSON = true // DecodeBodyLimit checked the whole body
		res, err := batch(c.Request.Context(), accountID(c), rows, opt)
		if err != nil {
			writeError(c, err)
			return
		}
		out := make([]rowResult, len(res))
		for i, r := range res {
			out[i] = toRowResult(r)
		}
		result(c, http.StatusOK, out)
	}
}

// options reads the query parameters of a write.
func options(c *gin.Context) (ingest.Options, error) {
	var opt ingest.Options
	if v, ok := c.GetQuery("dry_run"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return opt, models.Errorf(models.EINVALID, "dry_run must be true or false.")
		}
		opt.DryRun = b
	}
	return opt, nil
}

// bodyProblem words a body decoding error for the client: validation's errors are safe to show.
func bodyProblem(err error) string {
	return "Invalid JSON body: " + strings.TrimPrefix(err.Error(), validation.ErrBody.Error()+": ") + "."
}
