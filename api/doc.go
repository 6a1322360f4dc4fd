// Package api is the HTTP layer: the Gin router, authentication, limits, request ids, the one
// table mapping error codes to HTTP statuses, and handlers that translate HTTP to the ingest,
// models and recalc packages and back. It is the only package that imports gin.
package api
