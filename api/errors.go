package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"invoice-ingest/models"
)

// Error codes of SPEC 3 that only the HTTP layer produces (models holds the others).
const (
	codeMethodNotAllowed     = "method_not_allowed"
	codeRateLimited          = "rate_limited"
	codeIdempotencyKeyInUse  = "idempotency_key_in_use"
	codeIdempotencyKeyReused = "idempotency_key_reused"
)

// statusOf is the one table from error codes to HTTP statuses. A code missing here is answered as
// internal (500); a test checks that every code of models and of this package is here.
var statusOf = map[string]int{
	models.EINVALID:      http.StatusBadRequest,
	models.EUNAUTHORIZED: http.StatusUnauthorized,
	models.EFORBIDDEN:    http.StatusForbidden,
	models.ENOTFOUND:     http.StatusNotFound,
	models.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	models.EMEDIATYPE:    http.StatusUnsupportedMediaType,
	models.EUNAVAILABLE:  http.StatusServiceUnavailable,
	models.EINTERNAL:     http.StatusInternalServerError,

	codeMethodNotAllowed:     http.StatusMethodNotAllowed,
	codeRateLimited:          http.StatusTooManyRequests,
	codeIdempotencyKeyInUse:  http.StatusConflict,
	codeIdempotencyKeyReused: http.StatusUnprocessableEntity,
}

// statusClientClosed is logged for requests whose client disconnected before the answer.
const statusClientClosed = 499

// retryAfterSeconds is what a 503 tells clients to wait.
const retryAfterSeconds = "2"

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	// RequestID is the request's X-Request-Id, to quote when reporting the problem.
	RequestID string `json:"request_id,omitempty"`
}

// writeError answers the request with err as a problem document. Errors that are not *models.Error
// are classified: an unreachable database is 503, anything else 500 and logged with the request id;
// their text never reaches the client.
func writeError(c *gin.Context, err error) {
	// A transaction the request's end rolled back fails with a bare sql.ErrTxDone: name the cause
	// (a layer that ran it with models.Transaction has already).
	err = models.TxError(c.Request.Context(), err)
	if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
		// The client went away: nothing is wrong with us, and nobody reads the answer. 499 is
		// what proxies log for it.
		logger(c).Info("request canceled by the client")
		c.AbortWithStatus(statusClientClosed)
		return
	}
	code, msg := classify(err)
	switch code {
	case models.EINTERNAL:
		logger(c).Error("internal error", slog.String("error", err.Error()))
	case models.EUNAVAILABLE:
		logger(c).Warn("unavailable", slog.String("error", err.Error()))
		if c.Writer.Header().Get("Retry-After") == "" { // a limit may have said how long already
			c.Header("Retry-After", retryAfterSeconds)
		}
	}
	p := problemFor(c, code, msg)
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}

// classify returns the code of err and the message a client may read. An error that is not a
// *models.Error is internal and its text stays with us, except that an unreachable database is
// unavailable: the client can do something about that, namely retry.
func classify(err error) (code, msg string) {
	code, msg = models.ErrorCode(err), models.ErrorMessage(err)
	switch {
	case code != models.EINTERNAL:
	case models.IsUnavailable(err):
		code, msg = models.EUNAVAILABLE, "The database is unavailable; retry later."
	case models.IsDataException(err): // a backstop: values are checked before they reach the database
		code, msg = models.EINVALID, "A value in this request cannot be stored or compared (invalid text or number)."
	}
	if _, ok := statusOf[code]; !ok { // a code nobody gave a status: our fault, not the client's
		code, msg = models.EINTERNAL, models.ErrorMessage(nil)
	}
	return code, msg
}

// newProblem is the problem document for code; a code missing from statusOf is answered as 500.
func newProblem(code, detail string) problem {
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	return problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
}

// problemFor is newProblem for the request c answers, carrying its request id.
func problemFor(c *gin.Context, code, detail string) problem {
	p := newProblem(code, detail)
	p.RequestID = c.GetString(requestIDHeader)
	return p
}

// result writes the success envelope.
func result(c *gin.Context, status int, v any) {
	c.JSON(status, gin.H{"result": v})
}
