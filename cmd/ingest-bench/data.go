package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"invoice-ingest/models"
)

// invoice is one generated row, in the shape every method starts from. Empty plan/sub and zero
// quantity/discount mean "absent" (NULL in the table, left out of the JSON).
type invoice struct {
	id, customer, typ, currency string
	plan, sub                   string
	date, start, end            time.Time
	amount                      int64
	quantity, discount          int64
	// hash is the content hash COPY, raw and GORM store: a SHA-256 prefix of the fields, computed
	// at generation (untimed) since it is a property of the row, not of a method. The service
	// computes its own.
	hash [16]byte
}

// plan is one of the fixed plans every row may refer to.
type plan struct {
	id, name   string
	unit       string
	count      int
	priceCents int64
}

// plans are inserted once, up front, through the API: 6 monthly/quarterly and 4 yearly.
var plans = []plan{
	{"plan_basic_m", "Basic", "month", 1, 900},
	{"plan_team_m", "Team", "month", 1, 2900},
	{"plan_pro_m", "Pro", "month", 1, 9900},
	{"plan_business_m", "Business", "month", 1, 29900},
	{"plan_enterprise_m", "Enterprise", "month", 1, 99900},
	{"plan_basic_q", "Basic quarterly", "month", 3, 2500},
	{"plan_basic_y", "Basic yearly", "year", 1, 9000},
	{"plan_team_y", "Team yearly", "year", 1, 29000},
	{"plan_pro_y", "Pro yearly", "year", 1, 99000},
	{"plan_business_y", "Business yearly", "year", 1, 299000},
}

// customerID names customer c; every method and the API use the same ids.
func customerID(c int) string { return "cus_" + strconv.Itoa(c) }

// customerJSON is customer c as an API row.
func customerJSON(c int, source string) []byte {
	countries := []string{"US", "DE", "GB", "CA", "FR", "NL"}
	return fmt.Appendf(nil, `{"id":%q,"data_source":%q,"name":"Customer %d","email":"billing%d@example.com","company":"Company %d","country":%q}`,
		customerID(c), source, c, c, c, countries[c%len(countries)])
}

// planJSON is plan p as an API row.
func planJSON(p plan, source string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"data_source":%q,"name":%q,"interval_unit":%q,"interval_count":%d}`,
		p.id, source, p.name, p.unit, p.count)
}

// splitmix is a cheap, deterministic mixer: row i looks random but is the same in every run and
// for every method.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

var epoch = time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)

// genInvoice returns row i of a data set with the given number of customers. version > 0 changes
// every row's amount (the update pass) and nothing else, so ids, customers and types stay.
//
// Mix: 60% monthly (or quarterly) and 10% yearly subscriptions with a plan and subscription id,
// 15% one-time, 10% refunds, 5% cancellations; a customer bills in one of USD/EUR/GBP/CAD, with
// one in eight one-time invoices in another currency; a third of the rows carry a quantity and
// a fifth a discount. Customer c's k-th row starts k months after 2018-01 (wrapping after 9 years).
func genInvoice(i, customers, version int) invoice {
	r := splitmix(uint64(i))
	c, k := i%customers, i/customers
	inv := invoice{id: "inv_" + strconv.Itoa(i), customer: customerID(c)}
	inv.currency = currencyOf(c)
	inv.start = epoch.AddDate(0, k%108, c%28)
	inv.date = inv.start
	inv.end = inv.start
	if (r>>8)%3 == 0 {
		inv.quantity = 1 + int64((r>>12)%10)
	}
	qty := max(inv.quantity, 1)
	switch slot := r % 20; {
	case slot < 12: // monthly or quarterly subscription
		p := plans[(c+int(slot))%6]
		inv.typ, inv.plan, inv.sub = "subscription", p.id, "sub_"+strconv.Itoa(c)
		inv.end = inv.start.AddDate(0, p.count, 0)
		inv.amount = p.priceCents * qty
	case slot < 14: // yearly subscription
		p := plans[6+c%4]
		inv.typ, inv.plan, inv.sub = "subscription", p.id, "sub_"+strconv.Itoa(c)+"_y"
		inv.end = inv.start.AddDate(1, 0, 0)
		inv.amount = p.priceCents * qty
	case slot < 17: // one-time
		inv.typ = "one-time"
		inv.amount = 1000 + int64((r>>20)%50000)
		if (r>>40)%8 == 0 {
			inv.currency = currencyOf(c + 1 + int((r>>44)%3))
		}
	case slot < 19: // refund
		inv.typ = "refund"
		inv.amount = 500 + int64((r>>20)%5000)
		inv.quantity = 0
	default: // cancellation of the customer's monthly subscription
		inv.typ, inv.sub = "cancellation", "sub_"+strconv.Itoa(c)
		inv.quantity = 0
	}
	if inv.amount > 0 && (r>>16)%5 == 0 {
		inv.discount = inv.amount / 10
	}
	inv.amount += 100 * int64(version) // discount stays <= amount
	inv.hash = hashOf(&inv)
	return inv
}

// currencyOf is customer c's billing currency: mostly USD.
func currencyOf(c int) string {
	switch c % 10 {
	case 6, 7:
		return "EUR"
	case 8:
		return "GBP"
	case 9:
		return "CAD"
	default:
		return "USD"
	}
}

// genInvoices returns rows 0..n-1.
func genInvoices(n, customers, version int) []invoice {
	rows := make([]invoice, n)
	for i := range rows {
		rows[i] = genInvoice(i, customers, version)
	}
	return rows
}

// hashOf digests every field, length-prefixed, so two different rows never share a hash.
func hashOf(v *invoice) [16]byte {
	b := make([]byte, 0, 160)
	for _, s := range []string{v.id, v.customer, v.typ, v.currency, v.plan, v.sub} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, n := range []int64{v.date.UnixMicro(), v.start.UnixMicro(), v.end.UnixMicro(), v.amount, v.quantity, v.discount} {
		b = binary.AppendVarint(b, n)
	}
	s := sha256.Sum256(b)
	return [16]byte(s[:16])
}

// appendJSON appends the row as the API takes it. Hand-written rather than encoding/json: the
// NDJSON pass generates a million rows on the fly, on the same two cores as the server.
func appendJSON(b []byte, v *invoice, source string) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendQuote(b, v.id)
	b = append(b, `,"customer_id":`...)
	b = strconv.AppendQuote(b, v.customer)
	b = append(b, `,"data_source":`...)
	b = strconv.AppendQuote(b, source)
	b = append(b, `,"type":"`...)
	b = append(b, v.typ...)
	b = append(b, `","date":"`...)
	b = v.date.AppendFormat(b, time.RFC3339)
	b = append(b, `","amount_cents":`...)
	b = strconv.AppendInt(b, v.amount, 10)
	b = append(b, `,"currency":"`...)
	b = append(b, v.currency...)
	b = append(b, `","start_date":"`...)
	b = v.start.AppendFormat(b, time.RFC3339)
	b = append(b, `","end_date":"`...)
	b = v.end.AppendFormat(b, time.RFC3339)
	b = append(b, '"')
	if v.plan != "" {
		b = append(b, `,"plan_id":`...)
		b = strconv.AppendQuote(b, v.plan)
	}
	if v.sub != "" {
		b = append(b, `,"subscription_id":`...)
		b = strconv.AppendQuote(b, v.sub)
	}
	if v.quantity != 0 {
		b = append(b, `,"quantity":`...)
		b = strconv.AppendInt(b, v.quantity, 10)
	}
	if v.discount != 0 {
		b = append(b, `,"discount":`...)
		b = strconv.AppendInt(b, v.discount, 10)
	}
	return append(b, '}')
}

// jsonArray encodes rows as one JSON array request body.
func jsonArray(rows []invoice, source string) []byte {
	b := make([]byte, 0, len(rows)*340)
	b = append(b, '[')
	for i := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSON(b, &rows[i], source)
	}
	return append(b, ']')
}

// joinArray joins rows already encoded (customers, plans) into one JSON array request body.
func joinArray(rows [][]byte) []byte {
	return append(append([]byte{'['}, bytes.Join(rows, []byte{','})...), ']')
}

// gormInvoices converts rows to what a hand-written GORM loader would build. Done before timing,
// as the e2e request bodies are encoded before timing.
func gormInvoices(rows []invoice, account, source uuid.UUID, now time.Time) []models.Invoice {
	out := make([]models.Invoice, len(rows))
	for i := range rows {
		v := &rows[i]
		out[i] = models.Invoice{AccountID: account, SourceID: source, ID: v.id, CustomerID: v.customer,
			Type: v.typ, Date: v.date, AmountCents: v.amount, Currency: v.currency,
			PlanID: optStr(v.plan), SubscriptionID: optStr(v.sub), StartDate: v.start, EndDate: v.end,
			Quantity: optInt(v.quantity), Discount: optInt(v.discount), ContentHash: v.hash[:],
			CreatedAt: now, UpdatedAt: now}
	}
	return out
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optInt(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

// batches splits n rows into [start, end) ranges of at most size rows.
func batches(n, size int) [][2]int {
	var out [][2]int
	for s := 0; s < n; s += size {
		out = append(out, [2]int{s, min(s+size, n)})
	}
	return out
}
