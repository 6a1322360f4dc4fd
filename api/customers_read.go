package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"invoice-ingest/models"
	"invoice-ingest/recalc"
)

// listCustomers: GET /data/customers?source=&limit=&cursor=&status=, ordered by id, each customer
// with its metrics and metrics_stale, as a customer alone has them. status (active, churned, none)
// keeps the customers with some currency of that status; none also keeps those without metrics
// (no invoices, or not calculated yet).
func (s *Server) listCustomers(c *gin.Context) {
	status, err := queryStatus(c)
	if err != nil {
		writeError(c, err)
		return
	}
	listPage(s, c, func(ctx context.Context, accountID, sourceID uuid.UUID, p models.Page) ([]customerRow, string, bool, error) {
		if status == "" {
			return s.customerPage(ctx, accountID, sourceID, p)
		}
		return s.filteredCustomerPage(ctx, accountID, sourceID, p, status)
	}, func(r customerRow) customerDetailResponse {
		return toCustomerDetailResponse(r.Customer, r.state.Metrics, r.state.Stale)
	})
}

// customerRow is a customer with its stored metrics.
type customerRow struct {
	models.Customer
	state recalc.CustomerState
}

// customerPage is one page of customers with their metrics: two queries, whatever the page size.
func (s *Server) customerPage(ctx context.Context, accountID, sourceID uuid.UUID, p models.Page) ([]customerRow, string, bool, error) {
	rows, next, more, err := s.DB.ListCustomers(ctx, accountID, sourceID, p)
	if err != nil {
		return nil, "", false, err
	}
	out, err := s.withMetrics(ctx, accountID, sourceID, rows)
	return out, next, more, err
}

// withMetrics reads the metrics of rows in one batch query.
func (s *Server) withMetrics(ctx context.Context, accountID, sourceID uuid.UUID, rows []models.Customer) ([]customerRow, error) {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	states, err := recalc.CustomersMetrics(ctx, s.DB, accountID, sourceID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]customerRow, len(rows))
	for i, r := range rows {
		out[i] = customerRow{Customer: r, state: states[r.ID]}
	}
	return out, nil
}

// filteredCustomerPage is a page of the customers matching status. It walks the source's customers
// in id order from p's cursor, in chunks growing from limit+1 to MaxPageLimit, each with one batch
// metrics query, until it holds limit matches and has seen one more (has_more) or the customers
// end. The cursor it answers is the list's own, positioned just after the last match returned, so
// paging stays exact: every customer is considered once, in id order, against its metrics when
// its chunk is read. A rare filter costs a walk over the whole source.
func (s *Server) filteredCustomerPage(ctx context.Context, accountID, sourceID uuid.UUID, p models.Page, status string) ([]customerRow, string, bool, error) {
	limit := p.Limit
	if limit == 0 {
		limit = models.DefaultPageLimit
	}
	size := min(limit+1, models.MaxPageLimit)
	var out []customerRow
	cur, lastCursor, lastIndex := p.Cursor, "", 0 // the chunk and position of out's last row
	for {
		rows, next, more, err := s.customerPage(ctx, accountID, sourceID, models.Page{Limit: size, Cursor: cur})
		if err != nil {
			return nil, "", false, err
		}
		for j, r := range rows {
			if !hasStatus(r.state, status) {
				continue
			}
			if len(out) == limit {
				next, err := s.cursorAfter(ctx, accountID, sourceID, lastCursor, lastIndex)
				return out, next, next != "", err
			}
			out = append(out, r)
			lastCursor, lastIndex = cur, j
		}
		if !more {
			return out, "", false, nil
		}
		cur, size = next, min(size*2, models.MaxPageLimit)
	}
}

// cursorAfter returns the list's cursor just after the row at index i of the page starting at
// cursor: the next cursor of that page cut to i+1 rows.
func (s *Server) cursorAfter(ctx context.Context, accountID, sourceID uuid.UUID, cursor string, i int) (string, error) {
	_, next, _, err := s.DB.ListCustomers(ctx, accountID, sourceID, models.Page{Limit: i + 1, Cursor: cursor})
	return next, err
}

// hasStatus reports whether some currency of st has status; none also matches no metrics at all.
func hasStatus(st recalc.CustomerState, status string) bool {
	if status == recalc.StatusNone && len(st.Metrics) == 0 {
		return true
	}
	for _, m := range st.Metrics {
		if m.Status == status {
			return true
		}
	}
	return false
}

// queryStatus reads the customer list's status filter, in any case; "" when absent.
func queryStatus(c *gin.Context) (string, error) {
	v := c.Query("status")
	switch s := strings.ToLower(v); s {
	case "", recalc.StatusActive, recalc.StatusChurned, recalc.StatusNone:
		return s, nil
	}
	return "", models.Errorf(models.EINVALID, "Invalid status %q: must be one of active, churned, none.", v)
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
