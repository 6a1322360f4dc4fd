package api

import (
	"github.com/gin-gonic/gin"

	"invoice-ingest/models"
	"invoice-ingest/validation"
)

// maxQueryValueBytes bounds the query parameters that are not identifiers: cursors, dates.
const maxQueryValueBytes = 2048

// checkIdentifiers refuses, before any handler runs, a path parameter or query value that no
// identifier can be and PostgreSQL text cannot hold: invalid UTF-8, a NUL, or too long (255 bytes
// for ids and sources; 2048 for cursors and the other parameters, which handlers parse further).
// Such a value would otherwise reach PostgreSQL, which refuses it with an error of its own.
func checkIdentifiers() gin.HandlerFunc {
	return func(c *gin.Context) {
		for _, p := range c.Params {
			if !validation.Identifier(p.Value, validation.MaxIDBytes) {
				abortInvalid(c, "The path parameter "+p.Key, validation.MaxIDBytes)
				return
			}
		}
		for key, values := range c.Request.URL.Query() {
			limit := maxQueryValueBytes
			if key == "source" || key == "customer_id" {
				limit = validation.MaxIDBytes
			}
			for _, v := range values {
				if v != "" && !validation.Identifier(v, limit) {
					abortInvalid(c, "The query parameter "+shortKey(key), limit)
					return
				}
			}
		}
		c.Next()
	}
}

func abortInvalid(c *gin.Context, what string, limit int) {
	writeError(c, models.Errorf(models.EINVALID, "%s must be valid UTF-8 without NUL characters, at most %d bytes.",
		what, limit))
	c.Abort()
}

// shortKey is a query key fit to quote in a message: printable and short.
func shortKey(key string) string {
	if !validation.Identifier(key, 64) {
		return "(unnamed)"
	}
	return key
}
