package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"invoice-ingest/models"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	models.EINVALID:      http.StatusBadRequest,
	models.EUNAUTHORIZED: http.StatusUnauthorized,
	models.EFORBIDDEN:    http.StatusForbidden,
	models.ENOTFOUND:     http.StatusNotFound,
	models.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	models.EMEDIATYPE:    http.StatusUnsupportedMediaType,
	models.EUNAVAILABLE:  http.StatusServiceUnavailable,
	models.EINTERNAL:     http.StatusInternalServerError,
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
}

// writeError answers the request with err as a problem document. Errors that are not *models.Error
// are classified: an unreachable database is 503, anything else 500 and logged with the request id;
// their text never reaches the client.
func writeError(c *gin.Context, err error) {
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
		logger(c).Warn("database unavailable", slog.String("error", err.Error()))
		c.Header("Retry-After", retryAfterSeconds)
	}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(statusOf[code], newProblem(code, msg))
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
	return code, msg
}

// newProblem is the problem document for code.
func newProblem(code, detail string) problem {
	status := statusOf[code]
	return problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
}

// result writes the success envelope.
func result(c *gin.Context, status int, v any) {
	c.JSON(status, gin.H{"result": v})
}
