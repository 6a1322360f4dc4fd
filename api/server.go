package api

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"invoice-ingest/config"
	"invoice-ingest/ingest"
	"invoice-ingest/models"
	"invoice-ingest/telemetry"
)

// Server holds what the handlers need.
type Server struct {
	DB     *models.DB
	Config config.Config
	Log    *slog.Logger
	// Ingest runs the write path; a Service over DB when nil.
	Ingest *ingest.Service
	// Metrics records requests and rows for Prometheus; nil records nothing.
	Metrics *telemetry.Metrics
	// Stopping, once closed, says the process is shutting down: /readyz answers 503 and NDJSON
	// streams end at their next chunk boundary with a resumable error line. nil: never.
	Stopping <-chan struct{}

	limits  *admission  // the state of the limits (docs/limits.md), made by Handler
	streams streamState // NDJSON streams per account and their test hook (stream_limits.go)
	ready   readiness   // /readyz's own connection and last answer (health.go)
	hooks   writeHooks  // test hooks of the write path; none in production
}

// writeHooks let tests stop a JSON write at chosen points (export_test.go).
type writeHooks struct {
	keyClaimed   func()                        // after a request took its Idempotency-Key, before its batch
	beforeAnswer func(*http.Request) bool      // after the batch committed; false: drop the connection unanswered
	recorded     func(*gorm.DB, *http.Request) // in the write transaction, its import recorded, before the commit
	// streamBatch wraps the batch of each stream chunk, given the index of its first row.
	streamBatch func(base int, next batchFunc) batchFunc
	// streamBlocked is told, given the index of its first row, that a stream chunk waits to write
	// for an earlier one because they share rows. It must not block.
	streamBlocked func(base int)
}

// Handler builds the router.
func (s *Server) Handler() http.Handler {
	if s.Ingest == nil {
		s.Ingest = &ingest.Service{DB: s.DB}
	}
	s.limits = newAdmission(s.Config.Limits)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true // 405 with Allow (gin lists the route's methods)
	r.UseRawPath = true             // client ids may contain "/" (sent as %2F)
	r.Use(requestID(), s.observe(), accessLog(s.Log), recovery())
	r.Use(s.requestDeadline())
	r.NoRoute(noRoute)
	r.NoMethod(func(c *gin.Context) {
		writeError(c, models.Errorf(codeMethodNotAllowed, "Method %s is not allowed here: use %s.",
			quoteHeader(c.Request.Method), c.Writer.Header().Get("Allow")))
	})

	getAndHead(r, "/healthz", s.healthz)
	getAndHead(r, "/readyz", s.readyz)
	getAndHead(r, "/openapi.json", serveOpenAPI())

	data := r.Group("/data", s.authenticate(), s.rateLimit(), checkIdentifiers())
	read := data.Group("", requireScope(models.ScopeRead))
	write := data.Group("", requireScope(models.ScopeWrite), s.capInflight())

	getAndHead(read, "/data_sources", s.listDataSources)
	write.POST("/data_sources", s.createDataSource)
	s.readRoutes(read)
	s.writeRoutes(write)
	s.webhookRoutes(read, write)
	return r
}

// getAndHead registers a GET route and its HEAD twin (net/http sends no body for HEAD).
func getAndHead(r gin.IRoutes, path string, h gin.HandlerFunc) {
	r.Match([]string{http.MethodGet, http.MethodHead}, path, h)
}

// noRoute answers 404 naming the path, escaped (so ASCII, valid UTF-8) and cut at 200 bytes.
func noRoute(c *gin.Context) {
	path := c.Request.URL.EscapedPath()
	if len(path) > 200 {
		path = path[:200] + "..."
	}
	writeError(c, models.Errorf(models.ENOTFOUND, "No route %s.", path))
}
