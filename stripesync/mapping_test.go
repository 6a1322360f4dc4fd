package stripesync

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v85"

	"invoice-ingest/client"
)

// fixture decodes testdata/name, an object shaped as Stripe's API reference shows it, the way
// stripe-go decodes an answer.
func fixture[T any](t *testing.T, name string) *T {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	var v T
	require.NoError(t, json.Unmarshal(b, &v))
	return &v
}

func TestInvoiceSubscriptionCycleWithDiscountAndProration(t *testing.T) {
	got, action := Invoice(fixture[stripe.Invoice](t, "invoice_subscription_cycle.json"), "stripe")
	require.Equal(t, Push, action)
	require.Equal(t, client.Invoice{
		ID: "in_1Cycle", CustomerID: "cus_A", DataSource: "stripe", Type: "subscription",
		Date:        "2024-07-01T01:00:00Z", // finalized_at, not created
		AmountCents: 11000,                  // subtotal: prorations included, before discount and tax
		Discount:    2000,                   // subtotal - total_excluding_tax
		Currency:    "USD", SubscriptionID: "sub_A",
		PlanID:    "price_pro",            // the first subscription line that is not a proration
		StartDate: "2024-06-15T00:00:00Z", // the prorations' start
		EndDate:   "2024-08-01T00:00:00Z", // the cycle line's end
		Quantity:  2,
	}, got)
}

func TestInvoiceOneOff(t *testing.T) {
	got, action := Invoice(fixture[stripe.Invoice](t, "invoice_one_off.json"), "stripe")
	require.Equal(t, Push, action)
	require.Equal(t, client.Invoice{ID: "in_OneOff", CustomerID: "cus_B", DataSource: "stripe", Type: "one-time",
		Date: "2024-07-03T10:46:40Z", AmountCents: 50000, Currency: "EUR",
		StartDate: "2024-07-03T10:46:40Z", EndDate: "2024-07-03T10:46:40Z"}, got, "tax is not a discount; no plan")
}

func TestInvoiceJPY(t *testing.T) {
	got, action := Invoice(fixture[stripe.Invoice](t, "invoice_jpy.json"), "stripe")
	require.Equal(t, Push, action)
	require.Equal(t, client.Invoice{ID: "in_Yen", CustomerID: "cus_C", DataSource: "stripe", Type: "subscription",
		Date: "2024-08-01T00:00:00Z", AmountCents: 12000, Currency: "JPY", SubscriptionID: "sub_C",
		PlanID: "price_annual_jpy", StartDate: "2024-08-01T00:00:00Z", EndDate: "2025-08-01T00:00:00Z", Quantity: 1},
		got, "a zero-decimal amount is taken as is: Stripe's amounts are already in the smallest unit; no finalized_at: created")
}

func TestInvoiceDraftAndVoid(t *testing.T) {
	_, action := Invoice(fixture[stripe.Invoice](t, "invoice_draft.json"), "stripe")
	require.Equal(t, Skip, action)
	got, action := Invoice(fixture[stripe.Invoice](t, "invoice_void.json"), "stripe")
	require.Equal(t, Archive, action)
	require.Equal(t, "in_Void", got.ID)
}

func TestCreditNote(t *testing.T) {
	got, ok := CreditNote(fixture[stripe.CreditNote](t, "credit_note.json"), "stripe")
	require.True(t, ok)
	require.Equal(t, client.Invoice{ID: "cn_Refund", CustomerID: "cus_A", DataSource: "stripe", Type: "refund",
		Date: "2024-07-04T13:33:20Z", AmountCents: 2700, Currency: "USD",
		StartDate: "2024-07-04T13:33:20Z", EndDate: "2024-07-04T13:33:20Z"}, got)
	void := fixture[stripe.CreditNote](t, "credit_note.json")
	void.Status = stripe.CreditNoteStatusVoid
	_, ok = CreditNote(void, "stripe")
	require.False(t, ok)
}

func TestCancellation(t *testing.T) {
	sub := fixture[stripe.Subscription](t, "subscription_cancelled.json")
	got, ok := Cancellation(sub, "stripe")
	require.True(t, ok)
	require.Equal(t, client.Invoice{ID: "cancel_sub_A", CustomerID: "cus_A", DataSource: "stripe", Type: "cancellation",
		Date: "2024-08-01T00:00:00Z", AmountCents: 0, Currency: "USD", SubscriptionID: "sub_A",
		StartDate: "2024-08-01T00:00:00Z", EndDate: "2024-08-01T00:00:00Z"}, got)
	sub.EndedAt = 0
	_, ok = Cancellation(sub, "stripe")
	require.False(t, ok, "a live subscription is not a cancellation")
}

func TestCustomerAndPlan(t *testing.T) {
	require.Equal(t, client.Customer{ID: "cus_A", DataSource: "stripe", Name: "Ada Lovelace", Email: "ada@example.com", Country: "GB"},
		Customer(fixture[stripe.Customer](t, "customer.json"), "stripe"))
	price := fixture[stripe.Price](t, "price_recurring.json")
	plan, ok := Plan(price, "stripe")
	require.True(t, ok)
	require.Equal(t, client.Plan{ID: "price_pro", DataSource: "stripe", Name: "Pro", IntervalUnit: "month", IntervalCount: 1}, plan, "no nickname: the product's name")
	price.Nickname = "Pro monthly"
	plan, _ = Plan(price, "stripe")
	require.Equal(t, "Pro monthly", plan.Name)
	price.Nickname, price.Product = "", &stripe.Product{ID: "prod_pro"}
	plan, _ = Plan(price, "stripe")
	require.Equal(t, "price_pro", plan.Name, "no product name either: the id")
	price.Recurring = nil
	_, ok = Plan(price, "stripe")
	require.False(t, ok, "a one-off price is no plan")
}
