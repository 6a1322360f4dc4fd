package client

import "encoding/json"

// Entity names what a batch holds: the path of its write route.
type Entity string

// The three entities of the write routes.
const (
	Customers Entity = "customers"
	Plans     Entity = "plans"
	Invoices  Entity = "invoices"
)

// Valid reports whether e is one of the three entities.
func (e Entity) Valid() bool { return e == Customers || e == Plans || e == Invoices }

// Customer is a customer row (SPEC 4). Empty optional fields are left out, which the API stores
// as empty: an upsert is a full replacement.
type Customer struct {
	ID         string `json:"id"`
	DataSource string `json:"data_source"`
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	Company    string `json:"company,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Plan is a plan row.
type Plan struct {
	ID            string `json:"id"`
	DataSource    string `json:"data_source"`
	Name          string `json:"name"`
	IntervalUnit  string `json:"interval_unit,omitempty"`
	IntervalCount int    `json:"interval_count,omitempty"`
}

// Invoice is an invoice row. Dates are RFC 3339 timestamps or YYYY-MM-DD.
type Invoice struct {
	ID             string `json:"id"`
	CustomerID     string `json:"customer_id"`
	DataSource     string `json:"data_source"`
	Type           string `json:"type"`
	Date           string `json:"date"`
	AmountCents    int64  `json:"amount_cents"`
	Currency       string `json:"currency"`
	StartDate      string `json:"start_date"`
	EndDate        string `json:"end_date"`
	PlanID         string `json:"plan_id,omitempty"`
	SubscriptionID string `json:"subscription_id,omitempty"`
	Quantity       int64  `json:"quantity,omitempty"`
	Discount       int64  `json:"discount,omitempty"`
}

// Row statuses of a RowResult.
const (
	StatusInserted  = "inserted"
	StatusUpdated   = "updated"
	StatusUnchanged = "unchanged"
	StatusError     = "error"
)

// RowResult is the API's answer for one row.
type RowResult struct {
	Index        int          `json:"index"`
	ID           *string      `json:"id"`
	ImportStatus string       `json:"import_status"`
	ImportError  string       `json:"import_error,omitempty"`
	Errors       []FieldError `json:"errors,omitempty"`
}

// FieldError is one problem of a row in error.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// BatchResult is the answer to one JSON batch.
type BatchResult struct {
	ImportID string      `json:"import_id"`
	Results  []RowResult `json:"result"`
	Replayed bool        `json:"-"` // the answer was stored by an earlier request with the key
}

// Counts is how many rows ended in each status.
type Counts struct {
	Rows      int64 `json:"rows"`
	Inserted  int64 `json:"inserted"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Errors    int64 `json:"errors"`
}

// Add counts one row result.
func (c *Counts) Add(status string) {
	c.Rows++
	switch status {
	case StatusInserted:
		c.Inserted++
	case StatusUpdated:
		c.Updated++
	case StatusUnchanged:
		c.Unchanged++
	default:
		c.Errors++
	}
}

// Plus returns the sum of c and d.
func (c Counts) Plus(d Counts) Counts {
	return Counts{c.Rows + d.Rows, c.Inserted + d.Inserted, c.Updated + d.Updated, c.Unchanged + d.Unchanged, c.Errors + d.Errors}
}

// Count returns the counts of a batch's results.
func (b *BatchResult) Count() Counts {
	var c Counts
	for _, r := range b.Results {
		c.Add(r.ImportStatus)
	}
	return c
}

// Marshal encodes typed rows for Upsert.
func Marshal[T any](rows []T) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(rows))
	for i := range rows {
		b, err := json.Marshal(rows[i])
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}
