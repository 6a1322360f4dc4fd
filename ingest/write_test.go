package ingest_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/ingest"
	"invoice-ingest/models/dbtest"
)

// oneTimeInvoice is invoice inv_<i> (three digits) of customer in source "s": a one-time charge
// of amount cents.
func oneTimeInvoice(i int, customer string, amount int) string {
	return fmt.Sprintf(`{"id": "inv_%03d", "customer_id": %q, "data_source": "s", "type": "one-time",
		"date": "2024-07-02T00:00:00Z", "amount_cents": %d, "currency": "USD",
		"start_date": "2024-07-02T00:00:00Z", "end_date": "2024-07-02T00:00:00Z"}`, i, customer, amount)
}

// A large batch whose sampled rows are all new is inserted without locking stored rows first;
// the few rows of it that are stored (here moved to another customer) still answer updated, and
// their previous customer is still queued for recalculation.
func TestNewRowsAmongStoredOnesKeepExactStatuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.DB(t)
	acc, _ := accountWithSource(t, db, "fresh")
	svc := &ingest.Service{DB: db}
	customers, err := svc.Customers(ctx, acc.ID, raws(`{"id": "cus_a", "data_source": "s", "name": "A"}`,
		`{"id": "cus_b", "data_source": "s", "name": "B"}`), ingest.Options{})
	require.NoError(t, err)
	require.Equal(t, []ingest.Status{ingest.Inserted, ingest.Inserted}, statuses(customers))
	invoice := func(i int, customer string) string { return oneTimeInvoice(i, customer, 1500) }
	// Rows 10, 51 and 90 are stored under cus_a; none of them is at a sampled position (i*100/16).
	stored := []int{10, 51, 90}
	var first []string
	for _, i := range stored {
		first = append(first, invoice(i, "cus_a"))
	}
	_, err = svc.Invoices(ctx, acc.ID, raws(first...), ingest.Options{})
	require.NoError(t, err)
	queuedA := func() (n int) {
		require.NoError(t, db.SQL.QueryRow(`SELECT count(*) FROM recalc_outbox o WHERE account_id = $1
			AND 'cus_a' = ANY (o.customer_ids)`, acc.ID).Scan(&n))
		return n
	}
	require.Equal(t, 1, queuedA())

	rows := make([]string, 100)
	for i := range rows {
		rows[i] = invoice(i, "cus_b")
	}
	res, err := svc.Invoices(ctx, acc.ID, raws(rows...), ingest.Options{})
	require.NoError(t, err)
	for i, r := range res {
		want := ingest.Inserted
		if i == 10 || i == 51 || i == 90 {
			want = ingest.Updated
		}
		require.Equal(t, want, r.Status, "row %d", i)
	}
	require.Equal(t, 2, queuedA(), "the moved invoices' previous customer is queued")
	var onB int
	require.NoError(t, db.SQL.QueryRow(`SELECT count(*) FROM invoices WHERE account_id = $1 AND customer_id = 'cus_b'`,
		acc.ID).Scan(&onB))
	require.Equal(t, 100, onB)
}

// Citus reports a worker's refusal of COPY data as an internal error (XX000) without the
// violation's own code. Such a refusal, emulated here by a trigger that refuses one row once,
// makes the write run again with INSERT: the batch is stored whole, every row answers inserted.
func TestRefusedCopyRunsAgainWithInsert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.DB(t)
	acc, _ := accountWithSource(t, db, "refused")
	svc := &ingest.Service{DB: db}
	_, err := svc.Customers(ctx, acc.ID, raws(`{"id": "cus_r", "data_source": "s"}`), ingest.Options{})
	require.NoError(t, err)
	for _, q := range []string{
		`CREATE SEQUENCE refuse_once`,
		`CREATE FUNCTION refuse_once() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.id = 'inv_refused' THEN
				IF nextval('refuse_once') = 1 THEN
					RAISE EXCEPTION 'duplicate key value violates unique constraint "invoices_pkey_102295"'
						USING ERRCODE = 'XX000';
				END IF;
			END IF;
			RETURN NEW;
		END $$`,
		`CREATE TRIGGER refuse_once BEFORE INSERT ON invoices FOR EACH ROW EXECUTE FUNCTION refuse_once()`,
	} {
		_, err := db.SQL.Exec(q)
		require.NoError(t, err)
	}
	t.Cleanup(func() { _, _ = db.SQL.Exec(`DROP TRIGGER refuse_once ON invoices`) })

	rows := make([]string, 150)
	for i := range rows {
		id := fmt.Sprintf("inv_r%03d", i)
		if i == 70 {
			id = "inv_refused"
		}
		rows[i] = fmt.Sprintf(`{"id": %q, "customer_id": "cus_r", "data_source": "s", "type": "one-time",
			"date": "2024-07-02T00:00:00Z", "amount_cents": 1500, "currency": "USD",
			"start_date": "2024-07-02T00:00:00Z", "end_date": "2024-07-02T00:00:00Z"}`, id)
	}
	res, err := svc.Invoices(ctx, acc.ID, raws(rows...), ingest.Options{})
	require.NoError(t, err)
	for i, r := range res {
		require.Equal(t, ingest.Inserted, r.Status, "row %d", i)
	}
	var stored, fired int
	require.NoError(t, db.SQL.QueryRow(`SELECT count(*) FROM invoices WHERE account_id = $1`, acc.ID).Scan(&stored))
	require.Equal(t, 150, stored)
	require.NoError(t, db.SQL.QueryRow(`SELECT last_value FROM refuse_once`).Scan(&fired))
	require.Equal(t, 2, fired, "refused once, then written by a second attempt")
}

// Batches reuse the rows of batches before them: a batch's answer owes nothing to the one
// before, neither its errors nor its ids, and an answer already given stays as it was.
func TestBatchesShareNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.DB(t)
	acc, _ := accountWithSource(t, db, "reuse")
	svc := &ingest.Service{DB: db}
	first, err := svc.Customers(ctx, acc.ID, raws(`{"id": "cus_1", "data_source": "s", "email": "not an email"}`,
		`{"id": "cus_2", "data_source": "s", "name": "B"}`, `{"id": "cus_2", "data_source": "s", "name": "B"}`), ingest.Options{})
	require.NoError(t, err)
	require.Equal(t, []ingest.Status{ingest.Failed, ingest.Inserted, ingest.Failed}, statuses(first))
	firstErrors := fmt.Sprint(first[0].Errors, first[2].Errors)

	second, err := svc.Customers(ctx, acc.ID, raws(`{"id": "cus_3", "data_source": "s", "name": "C"}`,
		`{"id": "cus_4", "data_source": "s", "name": "D"}`), ingest.Options{})
	require.NoError(t, err)
	require.Equal(t, []ingest.Status{ingest.Inserted, ingest.Inserted}, statuses(second))
	for i, r := range second {
		require.Empty(t, r.Errors, "row %d", i)
		require.Equal(t, fmt.Sprintf("cus_%d", i+3), r.ID)
	}
	require.Equal(t, "cus_1", first[0].ID)
	require.Equal(t, firstErrors, fmt.Sprint(first[0].Errors, first[2].Errors), "the first answer is untouched")
}

// TestTextArrivesAsSent writes text that an array parameter must carry intact (quotes,
// backslashes, braces, "NULL", a right-to-left mark) through both statements that take arrays:
// the insert of a few new rows and the upsert of changed ones. What is stored is what was sent.
func TestTextArrivesAsSent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.DB(t)
	acc, _ := accountWithSource(t, db, "odd-text")
	svc := &ingest.Service{DB: db}
	odd := []string{`q"uote`, `back\slash`, `\"`, "{a,b}", "NULL", " spaced ", "Zoë", "\u202e"}
	customer := func(i int, name string) string {
		return fmt.Sprintf(`{"id": %q, "data_source": "s", "name": %q, "company": %q}`, "cus_"+odd[i], name, odd[i])
	}
	invoice := func(i int, amount int) string {
		return fmt.Sprintf(`{"id": %q, "data_source": "s", "customer_id": %q, "type": "one-time", "date": "2024-07-01T00:00:00Z",
			"start_date": "2024-07-01T00:00:00Z", "end_date": "2024-07-01T00:00:00Z", "amount_cents": %d, "currency": "USD", "subscription_id": %q}`, "inv_"+odd[i], "cus_"+odd[i], amount, odd[i])
	}
	for pass, want := range []ingest.Status{ingest.Inserted, ingest.Updated} {
		var customers, invoices []string
		for i := range odd {
			customers = append(customers, customer(i, fmt.Sprintf("%s %d", odd[i], pass)))
			invoices = append(invoices, invoice(i, 100+pass))
		}
		res, err := svc.Customers(ctx, acc.ID, raws(customers...), ingest.Options{})
		require.NoError(t, err)
		require.Equal(t, slices.Repeat([]ingest.Status{want}, len(odd)), statuses(res), "customers, pass %d", pass)
		res, err = svc.Invoices(ctx, acc.ID, raws(invoices...), ingest.Options{})
		require.NoError(t, err)
		require.Equal(t, slices.Repeat([]ingest.Status{want}, len(odd)), statuses(res), "invoices, pass %d", pass)
		for i, s := range odd {
			var name, company, invoiceCustomer, sub string
			require.NoError(t, db.Gorm.Raw(`SELECT c.name, c.company, i.customer_id, i.subscription_id
				FROM customers c JOIN invoices i ON i.account_id = c.account_id AND i.source_id = c.source_id AND i.customer_id = c.id
				WHERE c.account_id = ? AND i.id = ?`, acc.ID, "inv_"+s).Row().Scan(&name, &company, &invoiceCustomer, &sub))
			require.Equal(t, []string{fmt.Sprintf("%s %d", s, pass), s, "cus_" + s, s}, []string{name, company, invoiceCustomer, sub}, "row %d", i)
		}
	}
}

// A batch of changed invoices is written by an upsert that rewrites only the rows keeping their
// customer; the rows it leaves (moved to another customer, or unchanged) are locked and read, then
// upserted. Every row keeps its exact status, and a moved invoice's previous customer is queued.
func TestMovedKeptAndUnchangedInOneBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.DB(t)
	acc, _ := accountWithSource(t, db, "moves")
	svc := &ingest.Service{DB: db}
	_, err := svc.Customers(ctx, acc.ID, raws(`{"id": "cus_a", "data_source": "s"}`, `{"id": "cus_b", "data_source": "s"}`,
		`{"id": "cus_c", "data_source": "s"}`), ingest.Options{})
	require.NoError(t, err)
	invoice := oneTimeInvoice
	// Stored: 0-89; 10, 51 and 70 under cus_c, the others under cus_a. None of 1-3, 10, 51 and 70
	// is at a sampled position (i*100/16), so the batch below is taken for changed data.
	moved := map[int]bool{10: true, 51: true, 70: true}
	var first []string
	for i := range 90 {
		customer := "cus_a"
		if moved[i] {
			customer = "cus_c"
		}
		first = append(first, invoice(i, customer, 1500))
	}
	_, err = svc.Invoices(ctx, acc.ID, raws(first...), ingest.Options{})
	require.NoError(t, err)
	queued := func(customer string) (n int) {
		require.NoError(t, db.SQL.QueryRow(`SELECT count(*) FROM recalc_outbox o WHERE account_id = $1
			AND $2 = ANY (o.customer_ids)`, acc.ID, customer).Scan(&n))
		return n
	}
	require.Equal(t, 1, queued("cus_c"))

	batch := make([]string, 100)
	want := make([]ingest.Status, 100)
	for i := range batch {
		switch {
		case i >= 90:
			batch[i], want[i] = invoice(i, "cus_a", 2500), ingest.Inserted
		case i >= 1 && i <= 3:
			batch[i], want[i] = first[i], ingest.Unchanged
		case moved[i]:
			batch[i], want[i] = invoice(i, "cus_b", 1500), ingest.Updated
		default:
			batch[i], want[i] = invoice(i, "cus_a", 2500), ingest.Updated
		}
	}
	res, err := svc.Invoices(ctx, acc.ID, raws(batch...), ingest.Options{})
	require.NoError(t, err)
	require.Equal(t, want, statuses(res))
	require.Equal(t, 2, queued("cus_c"), "the moved invoices' previous customer is queued")
	require.Equal(t, 1, queued("cus_b"))

	var onB, paid int
	require.NoError(t, db.SQL.QueryRow(`SELECT count(*) FILTER (WHERE customer_id = 'cus_b'),
		count(*) FILTER (WHERE customer_id = 'cus_a' AND amount_cents = 2500) FROM invoices WHERE account_id = $1`,
		acc.ID).Scan(&onB, &paid))
	require.Equal(t, 3, onB)
	require.Equal(t, 100-3-3, paid, "every row but the unchanged and the moved ones has the new amount")
}
