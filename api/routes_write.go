package api

import "github.com/gin-gonic/gin"

// writeRoutes registers the routes that need the data:write scope.
func (s *Server) writeRoutes(r *gin.RouterGroup) {
	r.POST("/customers", s.upsert("customers", s.counted("customers", s.Ingest.Customers)))
	r.POST("/plans", s.upsert("plans", s.counted("plans", s.Ingest.Plans)))
	r.POST("/invoices", s.upsert("invoices", s.counted("invoices", s.Ingest.Invoices)))
	r.DELETE("/invoices/:id", s.archiveInvoice)
	r.POST("/invoices/:id/restore", s.restoreInvoice)
}
