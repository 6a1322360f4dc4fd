package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"invoice-ingest/models"
	"invoice-ingest/recalc"
)

// maxMonths is the most months one history or bridge answer covers.
const maxMonths = 600

// monthLayout is how months are written on the wire: 2019-04.
const monthLayout = "2006-01"

// customerMRRResponse is GET /data/customers/:id/mrr.
type customerMRRResponse struct {
	CustomerID string             `json:"customer_id"`
	Stale      bool               `json:"stale"`
	List       []monthMRRResponse `json:"list"`
}

type monthMRRResponse struct {
	Month       string  `json:"month"`
	Currency    string  `json:"currency"`
	MRRCents    int64   `json:"mrr_cents"`
	ChangeCents int64   `json:"change_cents"`
	Movement    *string `json:"movement"`
}

// customerMRR: GET /data/customers/:id/mrr?source=&from=&to=, the customer's monthly MRR history.
func (s *Server) customerMRR(c *gin.Context) {
	cust, ok := findRow(s, c, s.DB.GetCustomer)
	if !ok {
		return
	}
	from, to, err := queryMonths(c)
	if err != nil {
		writeError(c, err)
		return
	}
	key := recalc.CustomerKey{AccountID: cust.AccountID, SourceID: cust.SourceID, CustomerID: cust.ID}
	months, stale, err := recalc.CustomerHistory(c.Request.Context(), s.DB, key, from, to)
	if err != nil {
		writeError(c, err)
		return
	}
	out := customerMRRResponse{CustomerID: cust.ID, Stale: stale, List: make([]monthMRRResponse, len(months))}
	for i, m := range months {
		out.List[i] = monthMRRResponse{Month: m.Month.Format(monthLayout), Currency: m.Currency,
			MRRCents: m.MRRCents, ChangeCents: m.ChangeCents}
		if m.Movement != "" {
			out.List[i].Movement = &m.Movement
		}
	}
	result(c, http.StatusOK, out)
}

// bridgeResponse is GET /data/mrr.
type bridgeResponse struct {
	StaleCustomers int64                 `json:"stale_customers"`
	List           []bridgeMonthResponse `json:"list"`
}

type bridgeMonthResponse struct {
	Month                string `json:"month"`
	Currency             string `json:"currency"`
	MRRCents             int64  `json:"mrr_cents"`
	Customers            int64  `json:"customers"`
	NewCents             int64  `json:"new_cents"`
	ExpansionCents       int64  `json:"expansion_cents"`
	ContractionCents     int64  `json:"contraction_cents"`
	ChurnCents           int64  `json:"churn_cents"`
	ReactivationCents    int64  `json:"reactivation_cents"`
	NewCustomers         int64  `json:"new_customers"`
	ChurnedCustomers     int64  `json:"churned_customers"`
	ReactivatedCustomers int64  `json:"reactivated_customers"`
}

// accountMRR: GET /data/mrr?from=&to=&source=&currency=, the account's MRR bridge.
func (s *Server) accountMRR(c *gin.Context) {
	scope, err := s.queryScope(c, true)
	if err != nil {
		writeError(c, err)
		return
	}
	from, to, err := queryMonths(c)
	if err != nil {
		writeError(c, err)
		return
	}
	months, stale, err := recalc.AccountMRR(c.Request.Context(), s.DB, scope, from, to)
	if err != nil {
		writeError(c, err)
		return
	}
	out := bridgeResponse{StaleCustomers: stale, List: make([]bridgeMonthResponse, len(months))}
	for i, m := range months {
		out.List[i] = bridgeMonthResponse{
			Month: m.Month.Format(monthLayout), Currency: m.Currency, MRRCents: m.MRRCents,
			Customers: m.Customers, NewCents: m.NewCents, ExpansionCents: m.ExpansionCents,
			ContractionCents: m.ContractionCents, ChurnCents: m.ChurnCents,
			ReactivationCents: m.ReactivationCents, NewCustomers: m.NewCustomers,
			ChurnedCustomers: m.ChurnedCustomers, ReactivatedCustomers: m.ReactivatedCustomers,
		}
	}
	result(c, http.StatusOK, out)
}

// queryScope reads the optional source (UUID or name; unknown is 404) and, when withCurrency, the
// optional currency (3 letters, any case) of an account-level read.
func (s *Server) queryScope(c *gin.Context, withCurrency bool) (recalc.Scope, error) {
	scope := recalc.Scope{AccountID: accountID(c)}
	if ref := c.Query("source"); ref != "" {
		src, err := s.DB.FindDataSource(c.Request.Context(), scope.AccountID, ref)
		if err != nil {
			return scope, err
		}
		scope.SourceID = src.ID
	}
	if v := c.Query("currency"); withCurrency && v != "" {
		if !isLetters(v, 3) {
			return scope, models.Errorf(models.EINVALID, "Invalid currency %q: must be a 3-letter ISO 4217 code.", v)
		}
		scope.Currency = strings.ToUpper(v)
	}
	return scope, nil
}

// queryMonths reads from and to (YYYY-MM; empty counts as absent) as first instants of months in
// UTC. to defaults to the current month (the server's clock, UTC); from defaults to 599 months
// before to, which the readers turn into "from the first month with history". from after to, or
// a range over maxMonths months, is 400.
func queryMonths(c *gin.Context) (from, to time.Time, err error) {
	now := time.Now().UTC()
	to = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	if v := c.Query("to"); v != "" {
		if to, err = parseMonth("to", v); err != nil {
			return from, to, err
		}
	}
	from = to.AddDate(0, -(maxMonths - 1), 0)
	if v := c.Query("from"); v != "" {
		if from, err = parseMonth("from", v); err != nil {
			return from, to, err
		}
	}
	switch {
	case from.After(to):
		return from, to, models.Errorf(models.EINVALID, "from must not be after to.")
	case monthsBetween(from, to) >= maxMonths:
		return from, to, models.Errorf(models.EINVALID, "The range from %s to %s covers more than %d months.",
			from.Format(monthLayout), to.Format(monthLayout), maxMonths)
	}
	return from, to, nil
}

// parseMonth reads a YYYY-MM month.
func parseMonth(name, v string) (time.Time, error) {
	t, err := time.Parse(monthLayout, v)
	if err != nil || len(v) != len(monthLayout) {
		return t, models.Errorf(models.EINVALID, "Invalid %s %q: must be a month, YYYY-MM.", name, v)
	}
	return t, nil
}

// monthsBetween counts the months from a to b (b after a): 0 for the same month.
func monthsBetween(a, b time.Time) int {
	return (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
}
