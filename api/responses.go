package api

import (
	"time"

	"invoice-ingest/models"
	"invoice-ingest/recalc"
)

// listResponse is one page of a list. NextCursor is null (never omitted) on the last page, so the
// shape of a page does not depend on its position and a client loops `while has_more`.
type listResponse[T any] struct {
	Count      int     `json:"count"`
	List       []T     `json:"list"`
	HasMore    bool    `json:"has_more"`
	NextCursor *string `json:"next_cursor"`
}

// toListResponse converts a page of rows. List is [] rather than null when the page is empty.
func toListResponse[R, T any](rows []R, next string, more bool, conv func(R) T) listResponse[T] {
	out := listResponse[T]{Count: len(rows), List: make([]T, len(rows)), HasMore: more}
	for i, r := range rows {
		out.List[i] = conv(r)
	}
	if more {
		out.NextCursor = &next
	}
	return out
}

// invoiceResponse is an invoice on the wire. Optional fields the client left out are omitted, and
// archived_at appears only on an archived invoice. Every time is UTC, so it renders with Z.
type invoiceResponse struct {
	SourceID       string     `json:"source_id"`
	CustomerID     string     `json:"customer_id"`
	ID             string     `json:"id"`
	Type           string     `json:"type"`
	Date           time.Time  `json:"date"`
	AmountCents    int64      `json:"amount_cents"`
	Currency       string     `json:"currency"`
	PlanID         *string    `json:"plan_id,omitempty"`
	SubscriptionID *string    `json:"subscription_id,omitempty"`
	StartDate      time.Time  `json:"start_date"`
	EndDate        time.Time  `json:"end_date"`
	Quantity       *int64     `json:"quantity,omitempty"`
	Discount       *int64     `json:"discount,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	ArchivedAt     *time.Time `json:"archived_at,omitempty"`
}

func toInvoiceResponse(inv models.Invoice) invoiceResponse {
	return invoiceResponse{
		SourceID:       inv.SourceID.String(),
		CustomerID:     inv.CustomerID,
		ID:             inv.ID,
		Type:           inv.Type,
		Date:           inv.Date.UTC(),
		AmountCents:    inv.AmountCents,
		Currency:       inv.Currency,
		PlanID:         inv.PlanID,
		SubscriptionID: inv.SubscriptionID,
		StartDate:      inv.StartDate.UTC(),
		EndDate:        inv.EndDate.UTC(),
		Quantity:       inv.Quantity,
		Discount:       inv.Discount,
		CreatedAt:      inv.CreatedAt.UTC(),
		UpdatedAt:      inv.UpdatedAt.UTC(),
		ArchivedAt:     utcOrNil(inv.ArchivedAt),
	}
}

// customerResponse is a customer in a list. Optional strings left empty are omitted.
type customerResponse struct {
	SourceID  string    `json:"source_id"`
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	Email     string    `json:"email,omitempty"`
	Company   string    `json:"company,omitempty"`
	Country   string    `json:"country,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toCustomerResponse(c models.Customer) customerResponse {
	return customerResponse{
		SourceID:  c.SourceID.String(),
		ID:        c.ID,
		Name:      c.Name,
		Email:     c.Email,
		Company:   c.Company,
		Country:   c.Country,
		CreatedAt: c.CreatedAt.UTC(),
		UpdatedAt: c.UpdatedAt.UTC(),
	}
}

// customerDetailResponse is a customer alone: with its metrics, one entry per currency of its
// invoices (always an array, [] before the first calculation or without invoices).
//
// MetricsStale is true while a recalculation of the customer is queued or running. It repeats the
// per-entry stale flag at the top level because that flag has nowhere to go while metrics is still
// [] because the first calculation is pending: a client must not read [] as "no invoices" then.
type customerDetailResponse struct {
	customerResponse
	Metrics      []metricsResponse `json:"metrics"`
	MetricsStale bool              `json:"metrics_stale"`
}

func toCustomerDetailResponse(c models.Customer, ms []recalc.Metrics, stale bool) customerDetailResponse {
	out := customerDetailResponse{
		customerResponse: toCustomerResponse(c),
		Metrics:          make([]metricsResponse, len(ms)),
		MetricsStale:     stale,
	}
	for i, m := range ms {
		out.Metrics[i] = toMetricsResponse(m, stale)
	}
	return out
}

// metricsResponse is one currency's metrics of a customer (SPEC section 5). first_invoice_at and
// last_invoice_at are null only if the calculation stored none.
type metricsResponse struct {
	Currency       string     `json:"currency"`
	MRRCents       int64      `json:"mrr_cents"`
	ARRCents       int64      `json:"arr_cents"`
	RevenueCents   int64      `json:"revenue_cents"`
	InvoiceCount   int64      `json:"invoice_count"`
	FirstInvoiceAt *time.Time `json:"first_invoice_at"`
	LastInvoiceAt  *time.Time `json:"last_invoice_at"`
	Status         string     `json:"status"`
	CalculatedAt   time.Time  `json:"calculated_at"`
	Stale          bool       `json:"stale"`
}

func toMetricsResponse(m recalc.Metrics, stale bool) metricsResponse {
	return metricsResponse{
		Currency:       m.Currency,
		MRRCents:       m.MRRCents,
		ARRCents:       m.ARRCents,
		RevenueCents:   m.RevenueCents,
		InvoiceCount:   m.InvoiceCount,
		FirstInvoiceAt: utcOrNilZero(m.FirstInvoiceAt),
		LastInvoiceAt:  utcOrNilZero(m.LastInvoiceAt),
		Status:         m.Status,
		CalculatedAt:   m.CalculatedAt.UTC(),
		Stale:          stale,
	}
}

// planResponse is a plan on the wire.
type planResponse struct {
	SourceID      string    `json:"source_id"`
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	IntervalUnit  string    `json:"interval_unit"`
	IntervalCount int32     `json:"interval_count"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func toPlanResponse(p models.Plan) planResponse {
	return planResponse{
		SourceID:      p.SourceID.String(),
		ID:            p.ID,
		Name:          p.Name,
		IntervalUnit:  p.IntervalUnit,
		IntervalCount: p.IntervalCount,
		CreatedAt:     p.CreatedAt.UTC(),
		UpdatedAt:     p.UpdatedAt.UTC(),
	}
}

// utcOrNil returns t in UTC, or nil.
func utcOrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// utcOrNilZero returns t in UTC, or nil for the zero time.
func utcOrNilZero(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
