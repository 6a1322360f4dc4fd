package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"invoice-ingest/models"
)

// archiveInvoice serves DELETE /data/invoices/:id: the invoice is kept but hidden from default
// lists and from metrics; its customer is queued.
func (s *Server) archiveInvoice(c *gin.Context) { s.setArchived(c, s.Ingest.Archive) }

// restoreInvoice serves POST /data/invoices/:id/restore.
func (s *Server) restoreInvoice(c *gin.Context) { s.setArchived(c, s.Ingest.Restore) }

func (s *Server) setArchived(c *gin.Context, change func(ctx context.Context, account, source uuid.UUID, id string) (models.Invoice, error)) {
	src, err := s.querySource(c)
	if err != nil {
		writeError(c, err)
		return
	}
	inv, err := change(c.Request.Context(), accountID(c), src.ID, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	result(c, http.StatusOK, toInvoiceResponse(inv))
}
