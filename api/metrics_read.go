package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"invoice-ingest/recalc"
)

// totalsResponse is GET /data/metrics.
type totalsResponse struct {
	CalculatedAt   *time.Time               `json:"calculated_at"`
	StaleCustomers int64                    `json:"stale_customers"`
	List           []currencyTotalsResponse `json:"list"`
}

type currencyTotalsResponse struct {
	Currency         string `json:"currency"`
	MRRCents         int64  `json:"mrr_cents"`
	ARRCents         int64  `json:"arr_cents"`
	RevenueCents     int64  `json:"revenue_cents"`
	Customers        int64  `json:"customers"`
	ActiveCustomers  int64  `json:"active_customers"`
	ChurnedCustomers int64  `json:"churned_customers"`
}

// accountMetrics: GET /data/metrics?source=, the account's current totals per currency from the
// stored metrics; calculated_at is the latest calculation among them, null when there is none.
func (s *Server) accountMetrics(c *gin.Context) {
	scope, err := s.queryScope(c, false)
	if err != nil {
		writeError(c, err)
		return
	}
	totals, stale, err := recalc.AccountTotals(c.Request.Context(), s.DB, scope)
	if err != nil {
		writeError(c, err)
		return
	}
	out := totalsResponse{StaleCustomers: stale, List: make([]currencyTotalsResponse, len(totals))}
	for i, t := range totals {
		out.List[i] = currencyTotalsResponse{Currency: t.Currency, MRRCents: t.MRRCents, ARRCents: t.ARRCents,
			RevenueCents: t.RevenueCents, Customers: t.Customers, ActiveCustomers: t.ActiveCustomers,
			ChurnedCustomers: t.ChurnedCustomers}
		if out.CalculatedAt == nil || t.CalculatedAt.After(*out.CalculatedAt) {
			at := t.CalculatedAt
			out.CalculatedAt = &at
		}
	}
	result(c, http.StatusOK, out)
}
