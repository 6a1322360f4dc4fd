package recalc

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
)

// seedSized gives customers cus_0, cus_1, ... of a database of their own sizes[i] monthly
// invoices each, and queues them.
func seedSized(t *testing.T, sizes ...int) (*models.DB, []CustomerKey) {
	t.Helper()
	db := newDB(t)
	f := newFixture(t, db)
	keys := make([]CustomerKey, len(sizes))
	for i, n := range sizes {
		keys[i] = f.key(fmt.Sprintf("cus_%d", i))
		invs := make([]testInvoice, n)
		for m := range invs {
			start := fmt.Sprintf("2024-%02d-01", m%6+1)
			end := fmt.Sprintf("2024-%02d-01", m%6+2)
			invs[m] = testInvoice{id: fmt.Sprint("i", m), typ: "subscription", date: start, start: start, end: end,
				amount: 1000, currency: "USD", subID: "sub"}
		}
		f.addInvoices(t, keys[i].CustomerID, invs...)
	}
	enqueue(t, db, keys...)
	return db, keys
}

// invoiceCounts returns each customer's invoice_count as its metrics say, by customer id.
func invoiceCounts(t *testing.T, db *models.DB) map[string]int {
	t.Helper()
	return queryMap[int](t, db, `SELECT customer_id, invoice_count FROM customer_metrics`)
}

// A claim whose customers hold more invoices than BatchInvoices computes the customers that fit and
// gives the others back at once: another worker claims them while the first batch is still being
// computed. A customer with more invoices than the cap is computed alone, with all of them.
func TestBatchInvoicesGivesBackCustomersPastTheCap(t *testing.T) {
	t.Parallel()
	db, keys := seedSized(t, 3, 3, 8, 3, 3, 3)
	cfg := leased(testConfig(july15(t)))
	cfg.BatchInvoices = 7
	p, other := NewPool(db, cfg), NewPool(db, cfg)
	var batches [][]string // the customers of each committed write-back, in commit order
	written := func(finished []CustomerKey) {
		var ids []string
		for _, k := range finished {
			ids = append(ids, k.CustomerID)
		}
		batches = append(batches, ids)
	}
	p.hooks.written, other.hooks.written = written, written
	var otherClaimed []string
	other.hooks.claimed = func(keys []CustomerKey) {
		for _, k := range keys {
			otherClaimed = append(otherClaimed, k.CustomerID)
		}
	}
	p.hooks.beforeWrite = func(ctx context.Context, _ []CustomerKey) error {
		p.hooks.beforeWrite = nil
		_, _, err := other.runOnce(ctx)
		return err
	}
	for {
		_, claimed, err := p.runOnce(context.Background())
		require.NoError(t, err)
		if claimed == 0 {
			break
		}
	}
	assert.Equal(t, []string{"cus_2", "cus_3", "cus_4", "cus_5"}, otherClaimed,
		"the customers past the first batch's cap were claimable while it was computed")
	assert.Equal(t, [][]string{{"cus_2"}, {"cus_0", "cus_1"}, {"cus_3", "cus_4"}, {"cus_5"}}, batches,
		"3+3 invoices fit under 7, a customer of 8 comes alone")
	counts := invoiceCounts(t, db)
	for i, want := range []int{3, 3, 8, 3, 3, 3} {
		assert.Equal(t, want, counts[keys[i].CustomerID], "invoice_count of %s", keys[i].CustomerID)
	}
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_queue`), "every customer finished")
}

// A small claim (one transaction, no lease) computes the customers whose invoices fit under the cap,
// exactly up to it, and leaves the others queued for the next visit.
func TestSmallClaimStopsAtBatchInvoices(t *testing.T) {
	t.Parallel()
	db, keys := seedSized(t, 3, 3, 3)
	cfg := testConfig(july15(t))
	cfg.BatchInvoices = 6
	p := NewPool(db, cfg)
	var visits []int
	for {
		n, claimed, err := p.runOnce(context.Background())
		require.NoError(t, err)
		if claimed == 0 {
			break
		}
		visits = append(visits, n)
		if len(visits) == 1 {
			_, stillQueued := queued(t, db, keys[2])
			assert.True(t, stillQueued, "the customer past the cap waits for the next visit")
		}
	}
	assert.Equal(t, []int{2, 1}, visits, "3+3 invoices fill a cap of 6 exactly")
	assert.Len(t, invoiceCounts(t, db), 3)
	assert.Zero(t, count(t, db, `SELECT count(*) FROM recalc_queue`), "every customer finished")
}
