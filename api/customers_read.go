package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"invoice-ingest/recalc"
)

// listCustomers: GET /data/customers?source=&limit=&cursor=, ordered by id, without metrics.
func (s *Server) listCustomers(c *gin.Context) {
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
	list, next, more, err := s.DB.ListCustomers(c.Request.Context(), accountID(c), src.ID, page)
	if err != nil {
		writeError(c, err)
		return
	}
	result(c, http.StatusOK, toListResponse(list, next, more, toCustomerResponse))
}

// getCustomer: GET /data/customers/:id?source=, with the customer's metrics per currency and
// whether a recalculation of them is queued or running (see customerDetailResponse).
func (s *Server) getCustomer(c *gin.Context) {
	ctx := c.Request.Context()
	src, err := s.querySource(c)
	if err != nil {
		writeError(c, err)
		return
	}
	cust, err := s.DB.GetCustomer(ctx, accountID(c), src.ID, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	key := recalc.CustomerKey{AccountID: cust.AccountID, SourceID: cust.SourceID, CustomerID: cust.ID}
	metrics, stale, err := recalc.CustomerMetrics(ctx, s.DB, key)
	if err != nil {
		writeError(c, err)
		return
	}
	result(c, http.StatusOK, toCustomerDetailResponse(cust, metrics, stale))
}
