package api

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"invoice-ingest/models"
)

// readRoutes registers the routes that need the data:read scope.
//
// Every one of them names its data source in the required query parameter source (UUID or name);
// lists are paged by keyset (limit, cursor) and answer
// {"result": {"count", "list", "has_more", "next_cursor"}}, next_cursor being null on the last page.
// Optional query parameters given empty (limit=, cursor=) count as absent.
func (s *Server) readRoutes(r *gin.RouterGroup) {
	r.GET("/invoices", s.listInvoices)
	r.GET("/invoices/:id", s.getInvoice)
	r.GET("/customers", s.listCustomers)
	r.GET("/customers/:id", s.getCustomer)
	r.GET("/plans", s.listPlans)
	r.GET("/plans/:id", s.getPlan)
}

// querySource returns the account's data source named by the source query parameter: 400 when it
// is missing, 404 when the account has no such source (another account's sources included).
func (s *Server) querySource(c *gin.Context) (models.DataSource, error) {
	ref := c.Query("source")
	if ref == "" {
		return models.DataSource{}, models.Errorf(models.EINVALID, "The source query parameter is required.")
	}
	return s.DB.FindDataSource(c.Request.Context(), accountID(c), ref)
}

// queryPage reads the limit and cursor query parameters. The cursor is checked by the query that
// uses it, as only the model knows its shape.
func queryPage(c *gin.Context) (models.Page, error) {
	p := models.Page{Limit: models.DefaultPageLimit, Cursor: c.Query("cursor")}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > models.MaxPageLimit {
			return models.Page{}, models.Errorf(models.EINVALID, "limit must be an integer from 1 to %d.", models.MaxPageLimit)
		}
		p.Limit = n
	}
	return p, nil
}
