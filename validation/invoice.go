package validation

import (
	"encoding/json"
	"time"
)

// Invoice is a normalised invoice row: dates in UTC, Currency upper case, Type lower case.
// PlanID and SubscriptionID are "" and Quantity and Discount nil when the client left them out.
type Invoice struct {
	ID, CustomerID, DataSource, Type string
	Date, StartDate, EndDate         time.Time
	AmountCents                      int64
	Currency                         string
	PlanID, SubscriptionID           string
	Quantity                         *int64
	Discount                         *int64
}

// invoiceWire holds the JSON text of each invoice member the row carries.
type invoiceWire struct {
	id, customerID, dataSource, typ, date, amountCents, currency,
	startDate, endDate, planID, subscriptionID, quantity, discount []byte
}

// ParseInvoice decodes one raw row, normalises it and checks every rule of SPEC section 4 that
// needs no database. It returns all the row's errors in the order of the SPEC's table; the
// returned invoice holds every field that passed, so ID is set whenever the id is valid.
func ParseInvoice(raw json.RawMessage) (Invoice, []FieldError) {
	return parseInvoice(raw, false)
}

// ParseInvoiceValidJSON is ParseInvoice for a row already known to be valid JSON, such as a row of
// DecodeBody: it skips the JSON check, a large part of the cost of a row. Given invalid
// JSON it returns wrong errors (never panics); use ParseInvoice when unsure.
func ParseInvoiceValidJSON(raw json.RawMessage) (Invoice, []FieldError) {
	return parseInvoice(raw, true)
}

func parseInvoice(raw json.RawMessage, knownValid bool) (Invoice, []FieldError) {
	m, errs := openRow(raw, knownValid)
	if errs != nil {
		return Invoice{}, errs
	}
	var w invoiceWire
	for m.next() {
		switch string(m.key) {
		case "id":
			w.id = m.value
		case "customer_id":
			w.customerID = m.value
		case "data_source":
			w.dataSource = m.value
		case "type":
			w.typ = m.value
		case "date":
			w.date = m.value
		case "amount_cents":
			w.amountCents = m.value
		case "currency":
			w.currency = m.value
		case "start_date":
			w.startDate = m.value
		case "end_date":
			w.endDate = m.value
		case "plan_id":
			w.planID = m.value
		case "subscription_id":
			w.subscriptionID = m.value
		case "quantity":
			w.quantity = m.value
		case "discount":
			w.discount = m.value
		}
	}

	var e rowErrors
	var inv Invoice
	inv.ID = e.identifier(w.id, "id", "Missing invoice ID")
	inv.CustomerID = e.identifier(w.customerID, "customer_id", "Missing customer ID")
	inv.DataSource = e.identifier(w.dataSource, "data_source", msgMissingDataSource)
	inv.Type = e.oneOf(w.typ, "type", "Missing type", InvoiceTypes, "subscription, one-time, refund, cancellation")
	inv.Date, _ = e.timestamp(w.date, "date")
	amount, amountOK := e.amountCents(w.amountCents)
	inv.AmountCents = amount
	inv.Currency = e.currency(w.currency)
	start, startOK := e.timestamp(w.startDate, "start_date")
	end, endOK := e.timestamp(w.endDate, "end_date")
	inv.StartDate, inv.EndDate = start, end
	// Only two valid dates can be compared; a broken one has its own error already.
	if startOK && endOK && end.Before(start) {
		e.invalid("end_date", "end_date must not be before start_date")
	}
	inv.PlanID = e.identifier(w.planID, "plan_id", "")
	inv.SubscriptionID = e.identifier(w.subscriptionID, "subscription_id", "")
	inv.Quantity = e.quantity(w.quantity)
	inv.Discount = e.discount(w.discount, amount, amountOK)
	return inv, e
}

// amountCents reads the required amount_cents: a JSON integer of at least 0.
func (e *rowErrors) amountCents(raw []byte) (int64, bool) {
	if isAbsent(raw) {
		e.required("amount_cents", "Missing amount_cents")
		return 0, false
	}
	n, ok := integer(raw)
	if !ok || n < 0 {
		e.invalid("amount_cents", "amount_cents must be a non-negative integer")
		return 0, false
	}
	return n, true
}

// currency reads the required currency in any case and returns its upper-case ISO 4217 code.
func (e *rowErrors) currency(raw []byte) string {
	b, state := readText(raw)
	if state == textAbsent {
		e.required("currency", "Missing currency")
		return ""
	}
	if state == textOK {
		if code, ok := currencyCode(b); ok {
			return code
		}
	}
	e.invalid("currency", "Invalid currency "+shown(raw)+": must be a 3-letter ISO 4217 code")
	return ""
}

// quantity reads the optional quantity: a JSON integer of at least 1.
func (e *rowErrors) quantity(raw []byte) *int64 {
	if isAbsent(raw) {
		return nil
	}
	n, ok := integer(raw)
	if !ok || n < 1 {
		e.invalid("quantity", "quantity must be a positive integer")
		return nil
	}
	return &n
}

// discount reads the optional discount in cents: a JSON integer from 0 to amount_cents. The upper
// bound is checked only against a valid amount; a broken amount has its own error already.
func (e *rowErrors) discount(raw []byte, amount int64, amountOK bool) *int64 {
	if isAbsent(raw) {
		return nil
	}
	n, ok := integer(raw)
	if !ok || n < 0 || (amountOK && n > amount) {
		e.invalid("discount", "discount must be a non-negative integer not above amount_cents")
		return nil
	}
	return &n
}
