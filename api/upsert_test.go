package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/config"
)

// tenant is an account with a key and a data source named "stripe" holding customers cus_123 and
// cus_456 and plan plan_123, as in the GrowPanel document.
type tenant struct {
	key      string
	sourceID string
}

func newTenant(t testing.TB, e *env, name string) tenant {
	t.Helper()
	key := e.account(name)
	r := e.do("POST", "/data/data_sources", key, map[string]string{"name": "stripe"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	src := r.JSON(t)["result"].(map[string]any)["id"].(string)
	requireStatuses(t, e.do("POST", "/data/customers", key, `[
		{"id": "cus_123", "data_source": "stripe", "name": "Acme", "email": "billing@acme.test", "country": "us"},
		{"id": "cus_456", "data_source": "stripe", "name": "Globex"}]`), "inserted", "inserted")
	requireStatuses(t, e.do("POST", "/data/plans", key, `{"id": "plan_123", "data_source": "stripe", "name": "Pro"}`), "inserted")
	return tenant{key: key, sourceID: src}
}

// rowResults returns the per-row results of a 200 answer.
func rowResults(t testing.TB, r response) []map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var out []map[string]any
	for _, v := range r.JSON(t)["result"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// requireStatuses asserts the import_status of each row, in order, and that indexes are 0..n-1.
func requireStatuses(t testing.TB, r response, want ...string) []map[string]any {
	t.Helper()
	res := rowResults(t, r)
	got := make([]string, 0, len(res))
	for i, row := range res {
		got = append(got, row["import_status"].(string))
		require.EqualValues(t, i, row["index"])
	}
	require.Equal(t, append([]string{}, want...), got, string(r.Body))
	return res
}

// count returns how many rows a query counts.
func (e *env) count(query string, args ...any) int64 {
	e.t.Helper()
	var n int64
	require.NoError(e.t, e.db.Gorm.Raw(query, args...).Scan(&n).Error)
	return n
}

const bulkExample = `[
{"id": "inv_001", "customer_id": "cus_123", "data_source": "stripe", "type": "subscription",
 "date": "2024-07-01T00:00:00Z", "amount_cents": 9900, "currency": "USD", "plan_id": "plan_123",
 "subscription_id": "sub_001", "start_date": "2024-07-01T00:00:00Z", "end_date": "2024-08-01T00:00:00Z"},
{"id": "inv_002", "customer_id": "cus_456", "data_source": "stripe", "type": "one-time",
 "date": "2024-07-02T00:00:00Z", "amount_cents": 15000, "currency": "USD",
 "start_date": "2024-07-02T00:00:00Z", "end_date": "2024-07-02T00:00:00Z"}]`

const singleExample = `{"id": "inv_001", "customer_id": "cus_123", "data_source": "stripe", "type": "subscription",
 "date": "2024-07-01T00:00:00Z", "amount_cents": 9900, "currency": "USD", "plan_id": "plan_123",
 "subscription_id": "sub_001", "start_date": "2024-07-01T00:00:00Z", "end_date": "2024-08-01T00:00:00Z",
 "quantity": 1, "discount": 0}`

func TestGrowPanelExamples(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := newTenant(t, e, "growpanel")

	res := requireStatuses(t, e.do("POST", "/data/invoices", tn.key, bulkExample), "inserted", "inserted")
	require.Equal(t, "inv_001", res[0]["id"])
	require.Equal(t, "inv_002", res[1]["id"])
	require.NotContains(t, res[0], "import_error")

	// Re-sent identical: unchanged, and not a single row written.
	before := e.count(`SELECT count(*) FROM invoices WHERE source_id = ? AND updated_at = created_at`, tn.sourceID)
	var xmin string
	require.NoError(t, e.db.Gorm.Raw(`SELECT string_agg(xmin::text, ',' ORDER BY id) FROM invoices WHERE source_id = ?`, tn.sourceID).Scan(&xmin).Error)
	requireStatuses(t, e.do("POST", "/data/invoices", tn.key, bulkExample), "unchanged", "unchanged")
	var xminAfter string
	require.NoError(t, e.db.Gorm.Raw(`SELECT string_agg(xmin::text, ',' ORDER BY id) FROM invoices WHERE source_id = ?`, tn.sourceID).Scan(&xminAfter).Error)
	require.Equal(t, xmin, xminAfter, "an unchanged row is not rewritten")
	require.Equal(t, before, e.count(`SELECT count(*) FROM invoices WHERE source_id = ? AND updated_at = created_at`, tn.sourceID))

	// The single example adds quantity and discount: an update.
	requireStatuses(t, e.do("POST", "/data/invoices", tn.key, singleExample), "updated")
	requireStatuses(t, e.do("POST", "/data/invoices", tn.key, singleExample), "unchanged")

	// The document's validation errors.
	res = requireStatuses(t, e.do("POST", "/data/invoices", tn.key, `[
		{"customer_id": "cus_123", "data_source": "stripe", "type": "one-time", "date": "2024-07-03",
		 "amount_cents": 100, "currency": "usd", "start_date": "2024-07-03", "end_date": "2024-07-03"},
		{"id": "inv_004", "customer_id": "cus_123", "data_source": "stripe", "type": "subscription",
		 "date": "2024-07-03", "amount_cents": 100, "currency": "usd", "plan_id": "plan_999",
		 "start_date": "2024-07-03", "end_date": "2024-08-03"}]`), "error", "error")
	require.Nil(t, res[0]["id"])
	require.Equal(t, "Missing invoice ID", res[0]["import_error"])
	require.Equal(t, []any{map[string]any{"field": "id", "code": "required", "message": "Missing invoice ID"}}, res[0]["errors"])
	require.Equal(t, "inv_004", res[1]["id"])
	require.Equal(t, "Plan ID plan_999 does not exist", res[1]["import_error"])
	require.Equal(t, []any{map[string]any{"field": "plan_id", "code": "not_found", "message": "Plan ID plan_999 does not exist"}}, res[1]["errors"])
	require.Zero(t, e.count(`SELECT count(*) FROM invoices WHERE source_id = ? AND id = 'inv_004'`, tn.sourceID))
}

func TestMixedRows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := newTenant(t, e, "mixed")
	res := requireStatuses(t, e.do("POST", "/data/invoices", tn.key, `[
		{"id": "m1", "customer_id": "cus_123", "data_source": "stripe", "type": "one-time", "date": "2024-07-03",
		 "amount_cents": 100, "currency": "eur", "start_date": "2024-07-03", "end_date": "2024-07-03"},
		5,
		{"id": "m2", "customer_id": "cus_999", "data_source": "nope", "type": "gift", "date": "yesterday",
		 "amount_cents": 1.5, "currency": "XYZ", "start_date": "2024-07-03", "end_date": "2024-07-01"},
		{"id": "m3", "customer_id": "cus_999", "data_source": "stripe", "type": "refund", "date": "2024-07-03",
		 "amount_cents": 100, "currency": "eur", "start_date": "2024-07-03", "end_date": "2024-07-03"},
		{"id": "m4", "customer_id": "cus_456", "data_source": "`+tn.sourceID+`", "type": "refund", "date": "2024-07-03T10:00:00+02:00",
		 "amount_cents": 100, "currency": "eur", "start_date": "2024-07-03", "end_date": "2024-07-03", "unknown_field": true}
	]`), "inserted", "error", "error", "error", "inserted")
	require.Equal(t, "Row must be a JSON object", res[1]["import_error"])
	require.Nil(t, res[1]["id"])
	require.Equal(t, `Invalid type "gift": must be one of subscription, one-time, refund, cancellation; `+
		`Invalid date "yesterday": must be an RFC 3339 timestamp or YYYY-MM-DD; amount_cents must be a non-negative integer; `+
		`Invalid currency "XYZ": must be a 3-letter ISO 4217 code; end_date must not be before start_date; Data source nope does not exist`,
		res[2]["import_error"])
	require.Len(t, res[2]["errors"], 6)
	require.Equal(t, "Customer ID cus_999 does not exist", res[3]["import_error"])
	require.EqualValues(t, 2, e.count(`SELECT count(*) FROM invoices WHERE source_id = ?`, tn.sourceID), "good rows are stored despite bad neighbours")
	require.EqualValues(t, 1, e.count(`SELECT count(*) FROM invoices WHERE source_id = ? AND id = 'm4' AND date = '2024-07-03T08:00:00Z' AND currency = 'EUR'`, tn.sourceID))
}

func TestDuplicatesInOneRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := newTenant(t, e, "dups")
	row := func(id string, amount int) string {
		return fmt.Sprintf(`{"id": %q, "customer_id": "cus_123", "data_source": "stripe", "type": "one-time", "date": "2024-07-03",
			"amount_cents": %d, "currency": "usd", "start_date": "2024-07-03", "end_date": "2024-07-03"}`, id, amount)
	}
	res := requireStatuses(t, e.do("POST", "/data/invoices", tn.key, "["+row("inv_001", 1)+","+row("inv_002", 2)+","+row("inv_001", 3)+","+row("inv_001", 4)+"]"),
		"inserted", "inserted", "error", "error")
	require.Equal(t, "Duplicate invoice ID inv_001 in this request (first at index 0)", res[2]["import_error"])
	require.Equal(t, "duplicate", res[3]["errors"].([]any)[0].(map[string]any)["code"])
	require.EqualValues(t, 1, e.count(`SELECT amount_cents FROM invoices WHERE source_id = ? AND id = 'inv_001'`, tn.sourceID), "the first occurrence wins")

	// The same id through the source's name and its UUID is the same row.
	byID := strings.Replace(row("inv_009", 1), `"stripe"`, `"`+tn.sourceID+`"`, 1)
	requireStatuses(t, e.do("POST", "/data/invoices", tn.key, "["+row("inv_009", 1)+","+byID+"]"), "inserted", "error")

	res = requireStatuses(t, e.do("POST", "/data/customers", tn.key, `[{"id": "c", "data_source": "stripe"}, {"id": "c", "data_source": "stripe"}]`), "inserted", "error")
	require.Equal(t, "Duplicate customer ID c in this request (first at index 0)", res[1]["import_error"])
}

func TestBodyShapes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *config.Config) { c.MaxRows = 3; c.MaxBodyBytes = 4096 })
	tn := newTenant(t, e, "shapes")

	requireStatuses(t, e.do("POST", "/data/customers", tn.key, `{"id": "one", "data_source": "stripe"}`), "inserted")
	requireStatuses(t, e.do("POST", "/data/customers", tn.key, `[]`))
	r := e.do("POST", "/data/customers", tn.key, `[]`)
	require.JSONEq(t, `{"import_id": "`+r.Header.Get("Import-Id")+`", "result": []}`, string(r.Body))

	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"malformed json", `[{"id": "x",`, 400, "invalid_request"},
		{"empty body", ``, 400, "invalid_request"},
		{"top-level string", `"rows"`, 400, "invalid_request"},
		{"top-level null", `null`, 400, "invalid_request"},
		{"trailing garbage", `[] []`, 400, "invalid_request"},
		{"too many rows", `[{"id":"a","data_source":"stripe"},{"id":"b","data_source":"stripe"},{"id":"c","data_source":"stripe"},{"id":"d","data_source":"stripe"}]`, 413, "payload_too_large"},
		{"too many bytes", `[{"id": "a", "data_source": "stripe", "name": "` + strings.Repeat("x", 5000) + `"}]`, 413, "payload_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireProblem(t, e.do("POST", "/data/customers", tn.key, tc.body), tc.status, tc.code)
		})
	}
	require.EqualValues(t, 3, e.count(`SELECT count(*) FROM customers WHERE source_id = ?`, tn.sourceID), "refused requests write nothing")

	t.Run("unsupported media type", func(t *testing.T) {
		requireProblem(t, e.do("POST", "/data/customers", tn.key, `[]`, "Content-Type", "text/csv"), 415, "unsupported_media_type")
	})
	t.Run("bad dry_run", func(t *testing.T) {
		requireProblem(t, e.do("POST", "/data/customers?dry_run=maybe", tn.key, `[]`), 400, "invalid_request")
	})
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := newTenant(t, e, "dry")
	requireStatuses(t, e.do("POST", "/data/invoices", tn.key, bulkExample), "inserted", "inserted")
	e.drain(tn)
	res := requireStatuses(t, e.do("POST", "/data/invoices?dry_run=true", tn.key, `[`+singleExample+`,
		{"id": "inv_new", "customer_id": "cus_456", "data_source": "stripe", "type": "one-time",
		 "date": "2024-07-02T00:00:00Z", "amount_cents": 15000, "currency": "USD",
		 "start_date": "2024-07-02T00:00:00Z", "end_date": "2024-07-02T00:00:00Z"},
		{"id": "inv_002", "customer_id": "cus_456", "data_source": "stripe", "type": "one-time",
		 "date": "2024-07-02T00:00:00Z", "amount_cents": 15000, "currency": "USD",
		 "start_date": "2024-07-02T00:00:00Z", "end_date": "2024-07-02T00:00:00Z"},
		{"id": "bad", "data_source": "stripe"}]`), "updated", "inserted", "unchanged", "error")
	require.Equal(t, "inv_new", res[1]["id"])
	require.Zero(t, e.count(`SELECT count(*) FROM invoices WHERE source_id = ? AND id = 'inv_new'`, tn.sourceID), "nothing written")
	require.Zero(t, e.count(`SELECT count(*) FROM invoices WHERE source_id = ? AND quantity IS NOT NULL`, tn.sourceID), "nothing updated")
	require.Empty(t, e.queued(tn), "nothing queued")
}

func TestInvoiceWritesQueueTheirCustomers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := newTenant(t, e, "queue")
	// Each step starts from a drained queue, as if a worker had just computed everyone.
	requireStatuses(t, e.do("POST", "/data/invoices", tn.key, bulkExample), "inserted", "inserted")
	require.Equal(t, []string{"cus_123", "cus_456"}, e.queued(tn))

	e.drain(tn)
	requireStatuses(t, e.do("POST", "/data/invoices", tn.key, bulkExample), "unchanged", "unchanged")
	require.Empty(t, e.queued(tn), "an unchanged row queues nothing")

	requireStatuses(t, e.do("POST", "/data/invoices", tn.key, singleExample), "updated")
	require.Equal(t, []string{"cus_123"}, e.queued(tn), "an update queues its customer")

	// Moving inv_002 to cus_123 queues both the new and the previous customer.
	e.drain(tn)
	moved := strings.Replace(strings.Replace(bulkExample, `"cus_456"`, `"cus_123"`, 1), `"inv_001"`, `"inv_001x"`, 1)
	requireStatuses(t, e.do("POST", "/data/invoices", tn.key, moved), "inserted", "updated")
	require.Equal(t, []string{"cus_123", "cus_456"}, e.queued(tn), "the previous customer is queued too")
	var triggers int
	require.NoError(t, e.db.Gorm.Raw(`SELECT count(*) FROM pg_trigger WHERE tgrelid = 'invoices'::regclass AND NOT tgisinternal`).
		Scan(&triggers).Error)
	require.Zero(t, triggers, "the write path queues the previous customer, no trigger (Citus, docs/scaling.md)")

	// Customers and plans change no metrics.
	e.drain(tn)
	requireStatuses(t, e.do("POST", "/data/customers", tn.key, `{"id": "cus_123", "data_source": "stripe", "name": "Acme Inc"}`), "updated")
	require.Empty(t, e.queued(tn))
}

// queued returns the customers of the tenant's source waiting for recalculation: named by the
// outbox rows writes append, or already folded into the queue.
func (e *env) queued(tn tenant) []string {
	e.t.Helper()
	var ids []string
	require.NoError(e.t, e.db.Gorm.Raw(`SELECT customer_id FROM recalc_queue WHERE source_id = ?
		UNION SELECT c FROM recalc_outbox o, unnest(o.customer_ids) AS c WHERE o.source_id = ?::uuid ORDER BY 1`, tn.sourceID, tn.sourceID).Scan(&ids).Error)
	return ids
}

// drain empties the tenant's outbox and queue, as a worker that computed everyone would.
func (e *env) drain(tn tenant) {
	e.t.Helper()
	require.NoError(e.t, e.db.Gorm.Exec(`DELETE FROM recalc_outbox WHERE source_id = ?::uuid`, tn.sourceID).Error)
	require.NoError(e.t, e.db.Gorm.Exec(`DELETE FROM recalc_queue WHERE source_id = ?`, tn.sourceID).Error)
}

func TestAccountsAreIsolatedOnWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := newTenant(t, e, "iso-a")
	b := e.account("iso-b")
	res := requireStatuses(t, e.do("POST", "/data/invoices", b, bulkExample), "error", "error")
	require.Equal(t, "Data source stripe does not exist", res[0]["import_error"])
	res = requireStatuses(t, e.do("POST", "/data/customers", b, `{"id": "x", "data_source": "`+a.sourceID+`"}`), "error")
	require.Equal(t, "Data source "+a.sourceID+" does not exist", res[0]["import_error"])

	// b has its own "stripe" source, but a's customers are not b's.
	require.Equal(t, http.StatusCreated, e.do("POST", "/data/data_sources", b, map[string]string{"name": "stripe"}).Status)
	res = requireStatuses(t, e.do("POST", "/data/invoices", b, bulkExample), "error", "error")
	require.Equal(t, "Plan ID plan_123 does not exist", res[0]["errors"].([]any)[1].(map[string]any)["message"])
	require.Equal(t, "Customer ID cus_123 does not exist", res[0]["errors"].([]any)[0].(map[string]any)["message"])
}
