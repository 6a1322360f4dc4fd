package ingest

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/models"
	"invoice-ingest/validation"
)

var customerKind = &kind[validation.Customer]{
	noun:       "customer",
	entity:     models.Customers,
	parse:      validation.ParseCustomer,
	parseValid: validation.ParseCustomerValidJSON,
	ident:      func(c *validation.Customer) (string, string) { return c.ID, c.DataSource },
	hash: func(h *hasher, c *validation.Customer) digest {
		return h.start().str(c.Name).str(c.Email).str(c.Company).str(c.Country).sum()
	},
	write: writeCustomers,
}

func writeCustomers(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, rows []*row[validation.Customer]) (models.Written, error) {
	n := len(rows)
	c := models.CustomerColumns{IDs: make([]string, n), Names: make([]string, n), Emails: make([]string, n),
		Companies: make([]string, n), Countries: make([]string, n), RowHashes: rowHashes(rows)}
	for i, r := range rows {
		v := r.val
		c.IDs[i], c.Names[i], c.Emails[i], c.Companies[i], c.Countries[i] = v.ID, v.Name, v.Email, v.Company, v.Country
	}
	return models.UpsertCustomers(ctx, tx, account, source, now, c)
}

// rowHashes returns the content and text digests of rows, column by column.
func rowHashes[R any](rows []*row[R]) models.RowHashes {
	h := models.RowHashes{Content: make([][]byte, len(rows)), Raw: make([][]byte, len(rows))}
	for i, r := range rows {
		h.Content[i], h.Raw[i] = r.hash[:], r.rawHash[:]
	}
	return h
}
