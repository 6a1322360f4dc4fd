package api

import (
	"github.com/gin-gonic/gin"

	"invoice-ingest/ingest"
	"invoice-ingest/models"
)

// upsertStream serves an NDJSON body.
func (s *Server) upsertStream(c *gin.Context, batch batchFunc, opt ingest.Options) {
	writeError(c, models.Errorf(models.EMEDIATYPE, "NDJSON is not supported yet."))
}
