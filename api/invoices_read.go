package api

import (
	"context"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"invoice-ingest/models"
	"invoice-ingest/validation"
)

// listInvoices: GET /data/invoices?source=&limit=&cursor=&customer_id=&type=&currency=&date_from=&date_to=&archived=
func (s *Server) listInvoices(c *gin.Context) {
	listPage(s, c, func(ctx context.Context, accountID, sourceID uuid.UUID, p models.Page) ([]models.Invoice, string, bool, error) {
		f, err := queryInvoiceFilter(c)
		if err != nil {
			return nil, "", false, err
		}
		return s.DB.ListInvoices(ctx, accountID, sourceID, f, p)
	}, toInvoiceResponse)
}

// getInvoice: GET /data/invoices/:id?source= — archived invoices too, with archived_at.
func (s *Server) getInvoice(c *gin.Context) { answerRow(s, c, s.DB.GetInvoice, toInvoiceResponse) }

// queryInvoiceFilter reads the invoice list's filters. type and currency are matched in any case,
// as they are accepted on write; date_from is inclusive and date_to exclusive, each a timestamp as
// rows take them (validation.ParseTimestamp).
func queryInvoiceFilter(c *gin.Context) (models.InvoiceFilter, error) {
	f := models.InvoiceFilter{CustomerID: c.Query("customer_id")}
	if v := c.Query("type"); v != "" {
		for _, t := range validation.InvoiceTypes {
			if strings.EqualFold(v, t) {
				f.Type = t
			}
		}
		if f.Type == "" {
			return f, models.Errorf(models.EINVALID, "Invalid type %q: must be one of %s.", v, strings.Join(validation.InvoiceTypes, ", "))
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
		t, ok := validation.ParseTimestamp(v)
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
