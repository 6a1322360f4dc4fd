// Package api is the HTTP layer: the Gin router, authentication, limits, request ids, the one
// table mapping error codes to HTTP statuses (and the one rendering of problem documents, for
// plain answers and the last line of an NDJSON stream alike), and handlers that translate HTTP to
// the ingest, models and recalc packages and back. What a row or a query parameter may hold
// (timestamps, invoice types) is validation's to say, so the two never disagree. It is the only
// package that imports gin.
package api
