package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"invoice-ingest/models"
)

// invoiceTypes are the values of the type filter, as validation stores them.
var invoiceTypes = []string{"subscription", "one-time", "refund", "cancellation"}

// listInvoices: GET /data/invoices?source=&limit=&cursor=&customer_id=&type=&currency=&date_from=&date_to=&archived=
func (s *Server) listInvoices(c *gin.Context) {
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
	f, err := queryInvoiceFilter(c)
	if err != nil {
		writeError(c, err)
		return
	}
	list, next, more, err := s.DB.ListInvoices(c.Request.Context(), accountID(c), src.ID, f, page)
	if err != nil {
		writeError(c, err)
		return
	}
	result(c, http.StatusOK, toListResponse(list, next, more, toInvoiceResponse))
}

// getInvoice: GET /data/invoices/:id?source= — archived invoices too, with archived_at.
func (s *Server) getInvoice(c *gin.Context) {
	src, err := s.querySource(c)
	if err != nil {
		writeError(c, err)
		return
	}
	inv, err := s.DB.GetInvoice(c.Request.Context(), accountID(c), src.ID, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	result(c, http.StatusOK, toInvoiceResponse(inv))
}

// queryInvoiceFilter reads the invoice list's filters. type and currency are matched in any case,
// as they are accepted on write; date_from is inclusive and date_to exclusive, each an RFC 3339
// timestamp or a bare YYYY-MM-DD (midnight UTC).
func queryInvoiceFilter(c *gin.Context) (models.InvoiceFilter, error) {
	f := models.InvoiceFilter{CustomerID: c.Query("customer_id")}
	if v := c.Query("type"); v != "" {
		for _, t := range invoiceTypes {
			if strings.EqualFold(v, t) {
				f.Type = t
			}
		}
		if f.Type == "" {
			return f, models.Errorf(models.EINVALID, "Invalid type %q: must be one of %s.", v, strings.Join(invoiceTypes, ", "))
		}
	}
	if v := c.Query("currency"); v != "" {
		if !isLetters(v, 3) {
			return f, models.Errorf(models.EINVALID, "Invalid currency %q: must be a 3-letter ISO 4217 code.", v)
		}
		f.Currency = strings.ToUpper(v)
	}
	for _, d := range []struct {
		name string
		dst  **time.Time
	}{{"date_from", &f.DateFrom}, {"date_to", &f.DateTo}} {
		v := c.Query(d.name)
		if v == "" {
			continue
		}
		t, ok := parseQueryTime(v)
		if !ok {
			return f, models.Errorf(models.EINVALID, "Invalid %s %q: must be an RFC 3339 timestamp or YYYY-MM-DD.", d.name, v)
		}
		*d.dst = &t
	}
	switch v := c.Query("archived"); strings.ToLower(v) {
	case "", "false":
	case "true":
		f.Archived = true
	default:
		return f, models.Errorf(models.EINVALID, "Invalid archived %q: must be true or false.", v)
	}
	return f, nil
}

// parseQueryTime parses an RFC 3339 timestamp (any offset) or a bare date, which is midnight UTC.
func parseQueryTime(v string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// isLetters reports whether s is n ASCII letters.
func isLetters(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if b := s[i] | 0x20; b < 'a' || b > 'z' {
			return false
		}
	}
	return true
}
