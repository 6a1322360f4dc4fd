package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/config"
	"invoice-ingest/models"
)

// contractRun drives real requests through the real router over a real database, and checks
// every exchange against the OpenAPI document (checkContract). It remembers the statuses seen, so
// a test can require that every status the API produces was checked.
type contractRun struct {
	t     *testing.T
	e     *env
	seen  map[int]int
	key   string // data:read and data:write
	read  string // data:read only
	write string // data:write only
}

func newContractRun(t *testing.T, mutate ...func(*config.Config)) *contractRun {
	t.Helper()
	e := newEnv(t, mutate...)
	ctx := context.Background()
	acc, key, err := e.db.CreateAccount(ctx, "contract")
	require.NoError(t, err)
	_, read, err := e.db.CreateKey(ctx, acc.ID, []string{models.ScopeRead})
	require.NoError(t, err)
	_, write, err := e.db.CreateKey(ctx, acc.ID, []string{models.ScopeWrite})
	require.NoError(t, err)
	return &contractRun{t: t, e: e, seen: map[int]int{}, key: key, read: read, write: write}
}

// call sends one request (body: nil, a string sent as is, with contentType) and checks the
// exchange against the document; it requires the status.
func (r *contractRun) call(status int, method, path, key, contentType, body string, headers ...string) []byte {
	r.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, r.e.srv.URL+path, rd)
	require.NoError(r.t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(r.t, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	require.NoError(r.t, err)
	checkContract(r.t, req, res, out)
	require.Equal(r.t, status, res.StatusCode, "%s %s: %s", method, path, out)
	r.seen[res.StatusCode]++
	return out
}

// json sends a JSON body with the all-scopes key.
func (r *contractRun) json(status int, method, path, body string) []byte {
	r.t.Helper()
	return r.call(status, method, path, r.key, "application/json", body)
}

const (
	contractCustomers = `[{"id": "cus_1", "data_source": "stripe", "name": "Acme", "email": "a@example.com", "country": "fr"},
		{"id": "cus_2", "data_source": "stripe", "company": null}]`
	contractPlans    = `{"id": "plan_1", "data_source": "stripe", "name": "Pro", "interval_unit": "Month", "interval_count": 1}`
	contractInvoices = `[
		{"id": "inv_1", "customer_id": "cus_1", "data_source": "stripe", "type": "subscription", "date": "2024-07-01",
		 "amount_cents": 9900, "currency": "usd", "plan_id": "plan_1", "subscription_id": "sub_1", "quantity": 2,
		 "discount": 100, "start_date": "2024-07-01", "end_date": "2024-08-01T00:00:00+02:00"},
		{"id": "inv_2", "customer_id": "cus_2", "data_source": "stripe", "type": "one-time", "date": "2024-06-01T10:00:00Z",
		 "amount_cents": 500, "currency": "EUR", "start_date": "2024-06-01", "end_date": "2024-06-01"},
		{"id": "inv_3", "customer_id": "cus_1", "data_source": "stripe", "type": "refund", "date": "2024-05-01",
		 "amount_cents": 0, "currency": "usd", "start_date": "2024-05-01", "end_date": "2024-05-01"}]`
	// Bad rows: missing and invalid fields, an unknown customer, a duplicate, a row that is no object.
	contractBadInvoices = `[
		{"data_source": "stripe", "type": "bogus", "date": "yesterday", "amount_cents": "12", "currency": "XYZ"},
		{"id": "inv_9", "customer_id": "cus_999", "data_source": "nowhere", "type": "refund", "date": "2024-01-01",
		 "amount_cents": 1, "currency": "usd", "start_date": "2024-02-01", "end_date": "2024-01-01", "quantity": 0},
		{"id": "inv_8", "customer_id": "cus_1", "data_source": "stripe", "type": "refund", "date": "2024-01-01",
		 "amount_cents": 1, "currency": "usd", "start_date": "2024-01-01", "end_date": "2024-01-01"},
		{"id": "inv_8", "customer_id": "cus_1", "data_source": "stripe", "type": "refund", "date": "2024-01-01",
		 "amount_cents": 1, "currency": "usd", "start_date": "2024-01-01", "end_date": "2024-01-01"},
		42]`
)

// TestContractWrites: data sources, JSON and NDJSON upserts with good and bad rows, dry runs,
// and every refusal of a write.
func TestContractWrites(t *testing.T) {
	r := newContractRun(t)
	r.json(http.StatusCreated, "POST", "/data/data_sources", `{"name": "stripe"}`)
	r.json(http.StatusOK, "POST", "/data/data_sources", `{"name": " stripe "}`)
	r.json(http.StatusOK, "GET", "/data/data_sources", "")
	r.json(http.StatusBadRequest, "POST", "/data/data_sources", `{"title": "x"}`)
	r.json(http.StatusBadRequest, "POST", "/data/data_sources", `{"name": "0b6c5d8e-7d8f-4c2a-9a5e-3b1f2c4d5e6f"}`)

	r.json(http.StatusOK, "POST", "/data/customers", contractCustomers)
	r.json(http.StatusOK, "POST", "/data/customers", contractCustomers) // unchanged
	r.json(http.StatusOK, "POST", "/data/customers", `{"id": "cus_3", "data_source": "stripe", "email": "nope", "country": "XX"}`)
	r.json(http.StatusOK, "POST", "/data/plans", contractPlans)
	r.json(http.StatusOK, "POST", "/data/plans", `[{"id": "plan_2", "data_source": "stripe", "interval_unit": "decade"}]`)
	r.json(http.StatusOK, "POST", "/data/invoices?dry_run=true", contractInvoices)
	r.json(http.StatusOK, "POST", "/data/invoices", contractInvoices)
	r.json(http.StatusOK, "POST", "/data/invoices?dry_run=false", contractBadInvoices)
	r.json(http.StatusOK, "POST", "/data/invoices", `[]`)

	ndjson := "application/x-ndjson"
	lines := `{"id": "cus_10", "data_source": "stripe", "name": "Line"}` + "\n\n" +
		`{"id": "cus_11", "data_source": "stripe"}` + "\r\n"
	r.call(http.StatusOK, "POST", "/data/customers", r.key, ndjson, lines)
	r.call(http.StatusOK, "POST", "/data/customers?dry_run=true", r.key, ndjson, lines+"not json\n[1]\n{\"id\": \"x\"}")
	r.call(http.StatusOK, "POST", "/data/plans", r.key, ndjson+"; charset=utf-8", "")

	r.json(http.StatusBadRequest, "POST", "/data/invoices", `{"id": `)
	r.json(http.StatusBadRequest, "POST", "/data/invoices", `"a string"`)
	r.json(http.StatusBadRequest, "POST", "/data/invoices?dry_run=maybe", `[]`)
	r.call(http.StatusUnsupportedMediaType, "POST", "/data/invoices", r.key, "text/csv", "id\ninv_1\n")
	r.call(http.StatusUnauthorized, "POST", "/data/invoices", "", "application/json", `[]`)
	r.call(http.StatusForbidden, "POST", "/data/invoices", r.read, "application/json", `[]`)
	r.call(http.StatusForbidden, "POST", "/data/data_sources", r.read, "application/json", `{"name": "x"}`)
	r.requireSeen(200, 201, 400, 401, 403, 415)
}

// TestContractLimits: 413 for too many rows and for too many bytes, JSON and data sources.
func TestContractLimits(t *testing.T) {
	r := newContractRun(t, func(c *config.Config) { c.MaxRows, c.MaxBodyBytes = 2, 512 })
	r.json(http.StatusCreated, "POST", "/data/data_sources", `{"name": "stripe"}`)
	r.json(http.StatusRequestEntityTooLarge, "POST", "/data/customers", `[{}, {}, {}]`)
	big := fmt.Sprintf(`[{"id": "cus_1", "data_source": "stripe", "name": %q}]`, strings.Repeat("a", 600))
	r.json(http.StatusRequestEntityTooLarge, "POST", "/data/customers", big)
	r.json(http.StatusRequestEntityTooLarge, "POST", "/data/data_sources", fmt.Sprintf(`{"name": %q}`, strings.Repeat("a", 600)))
	// NDJSON has no row or body limit; a line over 1 MiB is an error row.
	long := fmt.Sprintf(`{"id": "cus_2", "data_source": "stripe", "name": %q}`, strings.Repeat("b", 1<<20))
	var b bytes.Buffer
	for i := range 3 {
		fmt.Fprintf(&b, `{"id": "cus_%d", "data_source": "stripe"}`+"\n", 10+i)
	}
	b.WriteString(long + "\n")
	out := r.call(http.StatusOK, "POST", "/data/customers", r.key, "application/x-ndjson", b.String())
	require.Contains(t, string(out), `"import_status":"error"`)
	r.requireSeen(200, 201, 413)
}

// requireSeen requires that the run checked an answer of each status.
func (r *contractRun) requireSeen(statuses ...int) {
	r.t.Helper()
	for _, s := range statuses {
		require.NotZero(r.t, r.seen[s], "no answer with status %d was checked", s)
	}
}
