package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"invoice-ingest/models"
)

// readRoutes registers the routes that need the data:read scope.
//
// The rows' routes name their data source in the required query parameter source (UUID or name);
// the account-level reads (/mrr, /metrics) take it optionally, all sources without it. Lists are
// paged by keyset (limit, cursor) and answer
// {"result": {"count", "list", "has_more", "next_cursor"}}, next_cursor being null on the last page.
// Optional query parameters given empty (limit=, cursor=) count as absent.
func (s *Server) readRoutes(r *gin.RouterGroup) {
	getAndHead(r, "/invoices", s.listInvoices)
	getAndHead(r, "/invoices/:id", s.getInvoice)
	getAndHead(r, "/customers", s.listCustomers)
	getAndHead(r, "/customers/:id", s.getCustomer)
	getAndHead(r, "/customers/:id/mrr", s.customerMRR)
	getAndHead(r, "/mrr", s.accountMRR)
	getAndHead(r, "/metrics", s.accountMetrics)
	getAndHead(r, "/plans", s.listPlans)
	getAndHead(r, "/plans/:id", s.getPlan)
	getAndHead(r, "/imports", s.listImports)
	getAndHead(r, "/imports/:id", s.getImport)
	getAndHead(r, "/imports/:id/errors", s.importErrors)
}

// pageQuery is the shape of the models package's list queries: one page of a source's rows.
type pageQuery[M any] func(ctx context.Context, accountID, sourceID uuid.UUID, p models.Page) (rows []M, next string, more bool, err error)

// rowQuery is the shape of a query or change of one row of a source, named by its id.
type rowQuery[M any] func(ctx context.Context, accountID, sourceID uuid.UUID, id string) (M, error)

// listPage answers a list route: the source and page from the query parameters, then one page of
// query's rows, each converted by respond. Errors are answered in that order.
func listPage[M, R any](s *Server, c *gin.Context, query pageQuery[M], respond func(M) R) {
	src, err := s.querySource(c)
	if err != nil {
		writeError(c, err)
		return
	}
	page, err := queryPage(c)
	if err != nil {
		writeError(c, err)
		return
	}
	rows, next, more, err := query(c.Request.Context(), accountID(c), src.ID, page)
	if err != nil {
		writeError(c, err)
		return
	}
	result(c, http.StatusOK, toListResponse(rows, next, more, respond))
}

// findRow returns the row of the source query parameter's source that query finds for the id path
// parameter. When ok is false the request has been answered with the error.
func findRow[M any](s *Server, c *gin.Context, query rowQuery[M]) (row M, ok bool) {
	src, err := s.querySource(c)
	if err != nil {
		writeError(c, err)
		return row, false
	}
	row, err = query(c.Request.Context(), accountID(c), src.ID, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return row, false
	}
	return row, true
}

// answerRow answers a route about one row (see findRow) with that row, converted by respond.
func answerRow[M, R any](s *Server, c *gin.Context, query rowQuery[M], respond func(M) R) {
	if row, ok := findRow(s, c, query); ok {
		result(c, http.StatusOK, respond(row))
	}
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
	return models.ParsePage(c.Query("limit"), c.Query("cursor"))
}
