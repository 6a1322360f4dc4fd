package api

import "github.com/gin-gonic/gin"

// archiveInvoice serves DELETE /data/invoices/:id: the invoice is kept but hidden from default
// lists and from metrics; its customer is queued.
func (s *Server) archiveInvoice(c *gin.Context) { answerRow(s, c, s.Ingest.Archive, toInvoiceResponse) }

// restoreInvoice serves POST /data/invoices/:id/restore.
func (s *Server) restoreInvoice(c *gin.Context) { answerRow(s, c, s.Ingest.Restore, toInvoiceResponse) }
