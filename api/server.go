package api

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

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
}

// Handler builds the router.
func (s *Server) Handler() http.Handler {
	if s.Ingest == nil {
		s.Ingest = &ingest.Service{DB: s.DB}
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.UseRawPath = true // client ids may contain "/" (sent as %2F)
	r.Use(requestID(), s.observe(), accessLog(s.Log), recovery())
	r.NoRoute(func(c *gin.Context) { writeError(c, models.Errorf(models.ENOTFOUND, "No such route.")) })
	r.NoMethod(func(c *gin.Context) {
		writeError(c, models.Errorf(models.EINVALID, "Method %s is not allowed here.", c.Request.Method))
	})

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/openapi.json", serveOpenAPI)

	data := r.Group("/data", s.authenticate(), checkIdentifiers())
	read := data.Group("", requireScope(models.ScopeRead))
	write := data.Group("", requireScope(models.ScopeWrite))

	read.GET("/data_sources", s.listDataSources)
	write.POST("/data_sources", s.createDataSource)
	s.readRoutes(read)
	s.writeRoutes(write)
	return r
}
