package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"invoice-ingest/recalc"
)

// listCustomers: GET /data/customers?source=&limit=&cursor=, ordered by id, without metrics.
func (s *Server) listCustomers(c *gin.Context) {
	listPage(s, c, s.DB.ListCustomers, toCustomerResponse)
}

// getCustomer: GET /data/customers/:id?source=, with the customer's metrics per currency and
// whether a recalculation of them is queued or running (see customerDetailResponse).
func (s *Server) getCustomer(c *gin.Context) {
	cust, ok := findRow(s, c, s.DB.GetCustomer)
	if !ok {
		return
	}
	key := recalc.CustomerKey{AccountID: cust.AccountID, SourceID: cust.SourceID, CustomerID: cust.ID}
	metrics, stale, err := recalc.CustomerMetrics(c.Request.Context(), s.DB, key)
	if err != nil {
		writeError(c, err)
		return
	}
	result(c, http.StatusOK, toCustomerDetailResponse(cust, metrics, stale))
}
