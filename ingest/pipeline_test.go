package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/ingest"
	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
	"invoice-ingest/validation"
)

func raws(rows ...string) validation.Rows {
	out := make([]json.RawMessage, len(rows))
	for i, r := range rows {
		out[i] = json.RawMessage(r)
	}
	return validation.Lines(out)
}

// accountWithSource creates an account named name with one data source, "s", in db.
func accountWithSource(t *testing.T, db *models.DB, name string) (models.Account, models.DataSource) {
	t.Helper()
	acc, _, err := db.CreateAccount(context.Background(), name)
	require.NoError(t, err)
	src, _, err := db.CreateDataSource(context.Background(), acc.ID, "s")
	require.NoError(t, err)
	return acc, src
}

func statuses(res []ingest.Result) []ingest.Status {
	out := make([]ingest.Status, len(res))
	for i, r := range res {
		out[i] = r.Status
	}
	return out
}

// Rows of several data sources in one batch, upserted in chunks smaller than the batch: every
// row keeps its own status and index whatever chunk and source group it landed in.
func TestChunksAndSources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.DB(t)
	acc, _, err := db.CreateAccount(ctx, "chunks")
	require.NoError(t, err)
	a, _, err := db.CreateDataSource(ctx, acc.ID, "a")
	require.NoError(t, err)
	_, _, err = db.CreateDataSource(ctx, acc.ID, "b")
	require.NoError(t, err)
	svc := &ingest.Service{DB: db, ChunkSize: 2}

	var rows []string
	for i := range 7 {
		src := []string{"a", "b", a.ID.String()}[i%3]
		rows = append(rows, fmt.Sprintf(`{"id": "c%d", "data_source": %q, "name": "n%d"}`, 6-i, src, i))
	}
	res, err := svc.Customers(ctx, acc.ID, raws(rows...), ingest.Options{})
	require.NoError(t, err)
	for i, r := range res {
		require.Equal(t, i, r.Index)
		require.Equal(t, fmt.Sprintf("c%d", 6-i), r.ID)
		require.Equal(t, ingest.Inserted, r.Status, r.Errors)
	}

	// Change every other row; re-send the rest as they were.
	changed := append([]string(nil), rows...)
	for i := 0; i < len(changed); i += 2 {
		changed[i] = fmt.Sprintf(`{"id": "c%d", "data_source": %q, "name": "changed"}`, 6-i, []string{"a", "b", a.ID.String()}[i%3])
	}
	res, err = svc.Customers(ctx, acc.ID, raws(changed...), ingest.Options{})
	require.NoError(t, err)
	require.Equal(t, []ingest.Status{ingest.Updated, ingest.Unchanged, ingest.Updated, ingest.Unchanged,
		ingest.Updated, ingest.Unchanged, ingest.Updated}, statuses(res))

	var names []string
	require.NoError(t, db.Gorm.Raw(`SELECT c.name FROM customers c JOIN data_sources s ON s.account_id = c.account_id AND s.id = c.source_id
		WHERE c.account_id = ? ORDER BY s.name, c.id`, acc.ID).Scan(&names).Error)
	// Source a holds c0 c1 c3 c4 c6, source b c2 c5; the even rows (c6 c4 c2 c0) changed.
	require.Equal(t, []string{"changed", "n5", "n3", "changed", "changed", "changed", "n1"}, names)
}

// Another account's ids are "does not exist", and the same id in two accounts is two rows.
func TestAccountScope(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.DB(t)
	svc := &ingest.Service{DB: db}
	for _, name := range []string{"scope-1", "scope-2"} {
		acc, _, err := db.CreateAccount(ctx, name)
		require.NoError(t, err)
		_, _, err = db.CreateDataSource(ctx, acc.ID, "stripe")
		require.NoError(t, err)
		res, err := svc.Customers(ctx, acc.ID, raws(`{"id": "shared", "data_source": "stripe"}`), ingest.Options{})
		require.NoError(t, err)
		require.Equal(t, ingest.Inserted, res[0].Status, "the same id in another account is another row")
		res, err = svc.Invoices(ctx, acc.ID, raws(`{"id": "i", "customer_id": "only-in-`+name+`", "data_source": "stripe",
			"type": "one-time", "date": "2024-01-01", "amount_cents": 1, "currency": "USD", "start_date": "2024-01-01", "end_date": "2024-01-01"}`), ingest.Options{})
		require.NoError(t, err)
		require.Equal(t, "Customer ID only-in-"+name+" does not exist", res[0].Errors[0].Message)
	}
}

// A missing customer or plan is an error of its row, on insert and when an update changes it; the
// foreign keys catch it and the batch runs again with lookups, so the good rows of the batch are
// written once, and no two (customer, plan) pairs are mistaken for each other.
func TestBadReferencesAreRowErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.DB(t)
	acc, _ := accountWithSource(t, db, "refs")
	svc := &ingest.Service{DB: db}
	_, err := svc.Customers(ctx, acc.ID, raws(`{"id": "x y", "data_source": "s"}`, `{"id": "x", "data_source": "s"}`), ingest.Options{})
	require.NoError(t, err)
	_, err = svc.Plans(ctx, acc.ID, raws(`{"id": "z", "data_source": "s", "name": "Z"}`), ingest.Options{})
	require.NoError(t, err)
	invoice := func(customer, plan string, amount int) json.RawMessage {
		p := ""
		if plan != "" {
			p = fmt.Sprintf(`"plan_id": %q,`, plan)
		}
		return json.RawMessage(fmt.Sprintf(`{"id": "inv", "customer_id": %q, %s "data_source": "s", "type": "one-time",
			"date": "2024-01-01", "amount_cents": %d, "currency": "USD", "start_date": "2024-01-01", "end_date": "2024-01-01"}`, customer, p, amount))
	}
	upsert := func(raw json.RawMessage) ingest.Result {
		res, err := svc.Invoices(ctx, acc.ID, validation.Lines([]json.RawMessage{raw}), ingest.Options{})
		require.NoError(t, err)
		return res[0]
	}
	require.Equal(t, ingest.Inserted, upsert(invoice("x y", "z", 1)).Status)
	require.Equal(t, ingest.Updated, upsert(invoice("x y", "z", 2)).Status)

	good := json.RawMessage(`{"id": "good", "customer_id": "x", "data_source": "s", "type": "one-time",
		"date": "2024-01-01", "amount_cents": 1, "currency": "USD", "start_date": "2024-01-01", "end_date": "2024-01-01"}`)
	bad := json.RawMessage(`{"id": "bad", "customer_id": "ghost", "data_source": "s", "type": "one-time",
		"date": "2024-01-01", "amount_cents": 1, "currency": "USD", "start_date": "2024-01-01", "end_date": "2024-01-01"}`)
	res, err := svc.Invoices(ctx, acc.ID, validation.Lines([]json.RawMessage{good, bad}), ingest.Options{})
	require.NoError(t, err)
	require.Equal(t, []ingest.Status{ingest.Inserted, ingest.Failed}, statuses(res))
	require.Equal(t, "Customer ID ghost does not exist", res[1].Errors[0].Message)
	var n int64
	require.NoError(t, db.Gorm.Raw(`SELECT count(*) FROM invoices WHERE account_id = ? AND id IN ('good', 'bad')`, acc.ID).Scan(&n).Error)
	require.EqualValues(t, 1, n)

	for _, tc := range []struct{ name, customer, plan, message string }{
		{"customer changes to a missing one", "nobody", "z", "Customer ID nobody does not exist"},
		{"plan changes to a missing one", "x y", "nope", "Plan ID nope does not exist"},
		{"a pair that would spell the same without lengths", "x", "y z", "Plan ID y z does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := upsert(invoice(tc.customer, tc.plan, 3))
			require.Equal(t, ingest.Failed, r.Status)
			require.Equal(t, tc.message, r.Errors[0].Message)
		})
	}
}

// A re-sent row is unchanged whether its text is byte-identical (compared without parsing) or only
// its content is (other member order, spacing, letter case of a code); an archived row is restored
// by either; a row whose text differs is parsed, so its errors are reported.
func TestUnchangedByTextOrContent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.DB(t)
	acc, src := accountWithSource(t, db, "text")
	svc := &ingest.Service{DB: db}
	_, err := svc.Customers(ctx, acc.ID, raws(`{"id": "c", "data_source": "s"}`), ingest.Options{})
	require.NoError(t, err)
	upsert := func(raw string, opt ingest.Options) ingest.Result {
		t.Helper()
		res, err := svc.Invoices(ctx, acc.ID, raws(raw), opt)
		require.NoError(t, err)
		return res[0]
	}
	v1 := `{"id": "i", "customer_id": "c", "data_source": "s", "type": "one-time", "date": "2024-01-01",
		"amount_cents": 100, "currency": "USD", "start_date": "2024-01-01", "end_date": "2024-01-01"}`
	v1Other := `{"currency":"usd","end_date":"2024-01-01T00:00:00Z","start_date":"2024-01-01","amount_cents":100,
		"date":"2024-01-01","type":"ONE-TIME","data_source":"s","customer_id":"c","id":"i"}`
	v2 := strings.Replace(v1, `"amount_cents": 100`, `"amount_cents": 200`, 1)
	broken := strings.Replace(v1, `"currency": "USD"`, `"currency": "XYZ"`, 1)

	require.Equal(t, ingest.Inserted, upsert(v1, ingest.Options{}).Status)
	require.Equal(t, ingest.Unchanged, upsert(v1, ingest.Options{}).Status, "same text")
	require.Equal(t, ingest.Unchanged, upsert(v1Other, ingest.Options{}).Status, "same content, other text")
	decoded, err := validation.DecodeBody([]byte(v1), 0)
	require.NoError(t, err)
	res, err := svc.Invoices(ctx, acc.ID, decoded, ingest.Options{})
	require.NoError(t, err)
	require.Equal(t, ingest.Unchanged, res[0].Status, "same text, body validated by the decoder")
	r := upsert(broken, ingest.Options{})
	require.Equal(t, ingest.Failed, r.Status)
	require.Equal(t, "currency", r.Errors[0].Field)
	require.Equal(t, ingest.Updated, upsert(v2, ingest.Options{DryRun: true}).Status)
	require.Equal(t, ingest.Updated, upsert(v2, ingest.Options{}).Status)
	require.Equal(t, ingest.Unchanged, upsert(v2, ingest.Options{}).Status)
	require.Equal(t, ingest.Updated, upsert(v1Other, ingest.Options{}).Status, "back to v1's content")
	require.Equal(t, ingest.Unchanged, upsert(v1, ingest.Options{}).Status, "v1's content in v1's text")

	_, err = svc.Archive(ctx, acc.ID, src.ID, "i")
	require.NoError(t, err)
	require.Equal(t, ingest.Updated, upsert(v1, ingest.Options{DryRun: true}).Status, "an archived row is never unchanged")
	require.Equal(t, ingest.Updated, upsert(v1, ingest.Options{}).Status, "the same text restores an archived row")
	var archived bool
	require.NoError(t, db.Gorm.Raw(`SELECT archived_at IS NOT NULL FROM invoices WHERE account_id = ? AND id = 'i'`, acc.ID).Scan(&archived).Error)
	require.False(t, archived)
}

// Data sources resolve by name or UUID on every batch of one Service (which remembers them), an
// unknown one is an error row, and one created afterwards resolves on the next batch.
func TestDataSourcesResolveAcrossBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.DB(t)
	acc, _, err := db.CreateAccount(ctx, "sources")
	require.NoError(t, err)
	a, _, err := db.CreateDataSource(ctx, acc.ID, "a")
	require.NoError(t, err)
	svc := &ingest.Service{DB: db}
	batch := func(rows ...string) []ingest.Result {
		t.Helper()
		res, err := svc.Customers(ctx, acc.ID, raws(rows...), ingest.Options{})
		require.NoError(t, err)
		return res
	}
	require.Equal(t, []ingest.Status{ingest.Inserted, ingest.Failed},
		statuses(batch(`{"id": "c1", "data_source": "a"}`, `{"id": "c1", "data_source": "b"}`)))
	require.Equal(t, []ingest.Status{ingest.Unchanged, ingest.Inserted},
		statuses(batch(`{"id": "c1", "data_source": "a"}`, fmt.Sprintf(`{"id": "c2", "data_source": %q}`, a.ID))))
	_, _, err = db.CreateDataSource(ctx, acc.ID, "b")
	require.NoError(t, err)
	require.Equal(t, []ingest.Status{ingest.Inserted}, statuses(batch(`{"id": "c1", "data_source": "b"}`)))

	other, _, err := db.CreateAccount(ctx, "sources-other")
	require.NoError(t, err)
	res, err := svc.Customers(ctx, other.ID, raws(`{"id": "c1", "data_source": "a"}`), ingest.Options{})
	require.NoError(t, err)
	require.Equal(t, ingest.Failed, res[0].Status, "another account's source name is unknown here")
}

// A large batch whose sampled rows all differ from the stored ones skips the per-row probe; rows
// between the samples that are in fact unchanged still answer "unchanged" and are not rewritten.
func TestSampledBatchKeepsExactStatuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.DB(t)
	acc, _ := accountWithSource(t, db, "sampled")
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	svc := &ingest.Service{DB: db, Now: func() time.Time { return clock }}
	const n = 100
	row := func(i int, name string) string {
		return fmt.Sprintf(`{"id": "c%03d", "data_source": "s", "name": %q}`, i, name)
	}
	batch := func(name func(i int) string) []ingest.Result {
		t.Helper()
		rows := make([]string, n)
		for i := range rows {
			rows[i] = row(i, name(i))
		}
		res, err := svc.Customers(ctx, acc.ID, raws(rows...), ingest.Options{})
		require.NoError(t, err)
		return res
	}
	for _, r := range batch(func(int) string { return "v1" }) {
		require.Equal(t, ingest.Inserted, r.Status)
	}

	// Every sixth row changes, and every row at a sampled position (i*n/16 for i < 16).
	clock = clock.Add(time.Hour)
	sampled := make(map[int]bool)
	for i := range 16 {
		sampled[i*n/16] = true
	}
	changed := func(i int) bool { return i%6 == 0 || sampled[i] }
	res := batch(func(i int) string {
		if changed(i) {
			return "v2"
		}
		return "v1"
	})
	for i, r := range res {
		want := ingest.Unchanged
		if changed(i) {
			want = ingest.Updated
		}
		require.Equal(t, want, r.Status, "row %d", i)
	}
	var rewritten int64
	require.NoError(t, db.Gorm.Raw(`SELECT count(*) FROM customers WHERE account_id = ? AND updated_at > ?`,
		acc.ID, clock.Add(-time.Minute)).Scan(&rewritten).Error)
	var want int64
	for i := range n {
		if changed(i) {
			want++
		}
	}
	require.Equal(t, want, rewritten, "only the changed rows were written")

	// The same batch again: the sample finds unchanged rows, so every row is probed.
	res = batch(func(i int) string {
		if changed(i) {
			return "v2"
		}
		return "v1"
	})
	for i, r := range res {
		require.Equal(t, ingest.Unchanged, r.Status, "row %d", i)
	}
}

// A row reports every error it has, its fields' first, whatever stage finds the others; a dry run
// names a missing reference as a write would.
func TestEveryErrorOfARowIsReported(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.DB(t)
	acc, _ := accountWithSource(t, db, "errors")
	svc := &ingest.Service{DB: db}
	messages := func(r ingest.Result) []string {
		var out []string
		for _, e := range r.Errors {
			out = append(out, e.Message)
		}
		return out
	}
	res, err := svc.Customers(ctx, acc.ID, raws(`{"data_source": "nope"}`, `{"id": "c", "data_source": "nope", "country": "XX"}`), ingest.Options{})
	require.NoError(t, err)
	require.Equal(t, []string{"Missing customer ID", "Data source nope does not exist"}, messages(res[0]))
	require.Len(t, res[1].Errors, 2)
	require.Equal(t, "country", res[1].Errors[0].Field)
	require.Equal(t, "Data source nope does not exist", res[1].Errors[1].Message)

	ghost := `{"id": "i", "customer_id": "ghost", "data_source": "s", "type": "one-time", "date": "2024-01-01",
		"amount_cents": 1, "currency": "USD", "start_date": "2024-01-01", "end_date": "2024-01-01"}`
	for _, dry := range []bool{true, false} {
		res, err := svc.Invoices(ctx, acc.ID, raws(ghost), ingest.Options{DryRun: dry})
		require.NoError(t, err)
		require.Equal(t, ingest.Failed, res[0].Status, "dry run %v", dry)
		require.Equal(t, []string{"Customer ID ghost does not exist"}, messages(res[0]))
	}
}
