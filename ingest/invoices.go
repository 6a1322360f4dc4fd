package ingest

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/models"
	"invoice-ingest/validation"
)

var invoiceKind = &kind[validation.Invoice]{
	noun:       "invoice",
	entity:     models.Invoices,
	parse:      validation.ParseInvoice,
	parseValid: validation.ParseInvoiceValidJSON,
	ident:      func(v *validation.Invoice) (string, string) { return v.ID, v.DataSource },
	hash: func(h *hasher, v *validation.Invoice) digest {
		return h.start().str(v.CustomerID).str(v.Type).time(v.Date).int(v.AmountCents).str(v.Currency).
			str(v.PlanID).str(v.SubscriptionID).time(v.StartDate).time(v.EndDate).
			optInt(v.Quantity).optInt(v.Discount).sum()
	},
	check:     checkInvoiceReferences,
	write:     writeInvoices,
	writeKept: writeKeptInvoices,
	insertNew: insertNewInvoices,
	copyNew:   copyNewInvoices,
	customer:  func(v *validation.Invoice) string { return v.CustomerID },
}

func writeInvoices(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, rows []*row[validation.Invoice]) (models.Written, error) {
	return models.UpsertInvoices(ctx, tx, account, source, now, invoiceColumns(rows))
}

func writeKeptInvoices(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, rows []*row[validation.Invoice]) (models.Written, error) {
	return models.UpsertKeptInvoices(ctx, tx, account, source, now, invoiceColumns(rows))
}

func insertNewInvoices(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, rows []*row[validation.Invoice]) (models.Written, error) {
	return models.InsertNewInvoices(ctx, tx, account, source, now, invoiceColumns(rows))
}

func copyNewInvoices(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, rows []*row[validation.Invoice]) (models.Written, error) {
	return models.CopyNewInvoices(ctx, tx, account, source, now, invoiceColumns(rows))
}

func invoiceColumns(rows []*row[validation.Invoice]) models.InvoiceColumns {
	n := len(rows)
	c := models.InvoiceColumns{
		IDs: make([]string, n), CustomerIDs: make([]string, n), Types: make([]string, n), Currencies: make([]string, n),
		PlanIDs: make([]string, n), SubscriptionIDs: make([]string, n),
		Dates: make([]time.Time, n), StartDates: make([]time.Time, n), EndDates: make([]time.Time, n),
		AmountCents: make([]int64, n), Quantities: make([]*int64, n), Discounts: make([]*int64, n),
		RowHashes: rowHashes(rows),
	}
	for i, r := range rows {
		v := r.val
		c.IDs[i], c.CustomerIDs[i], c.Types[i], c.Currencies[i] = v.ID, v.CustomerID, v.Type, v.Currency
		c.PlanIDs[i], c.SubscriptionIDs[i] = v.PlanID, v.SubscriptionID
		c.Dates[i], c.StartDates[i], c.EndDates[i], c.AmountCents[i] = v.Date, v.StartDate, v.EndDate, v.AmountCents
		c.Quantities[i], c.Discounts[i] = v.Quantity, v.Discount
	}
	return c
}
