package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/imports"
	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// importOf reads the import id of a write answer and returns GET /data/imports/{id}'s result.
func (e *env) importOf(key string, r response) map[string]any {
	e.t.Helper()
	id := r.Header.Get("Import-Id")
	require.NotEmpty(e.t, id, "every write answer names its import")
	g := e.do("GET", "/data/imports/"+id, key, nil)
	require.Equal(e.t, http.StatusOK, g.Status, string(g.Body))
	return g.JSON(e.t)["result"].(map[string]any)
}

// requireCounts asserts an import's counts are the tally of answers' statuses.
func requireCounts(t *testing.T, imp map[string]any, results []map[string]any) {
	t.Helper()
	want := map[string]int{"inserted": 0, "updated": 0, "unchanged": 0, "error": 0}
	for _, r := range results {
		want[r["import_status"].(string)]++
	}
	require.EqualValues(t, len(results), imp["rows"])
	require.EqualValues(t, want["inserted"], imp["inserted"])
	require.EqualValues(t, want["updated"], imp["updated"])
	require.EqualValues(t, want["unchanged"], imp["unchanged"])
	require.EqualValues(t, want["error"], imp["errors"])
}

// errorLines returns GET /data/imports/{id}/errors as raw lines.
func (e *env) errorLines(key, id string) []string {
	e.t.Helper()
	r := e.do("GET", "/data/imports/"+id+"/errors", key, nil)
	require.Equal(e.t, http.StatusOK, r.Status, string(r.Body))
	require.Equal(e.t, "application/x-ndjson", r.Header.Get("Content-Type"))
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

const mixedInvoices = `[
	{"id": "m1", "customer_id": "cus_123", "data_source": "stripe", "type": "one-time", "date": "2024-07-03",
	 "amount_cents": 100, "currency": "eur", "start_date": "2024-07-03", "end_date": "2024-07-03"},
	5,
	{"id": "m2", "customer_id": "cus_999", "data_source": "stripe", "type": "refund", "date": "2024-07-03",
	 "amount_cents": 100, "currency": "eur", "start_date": "2024-07-03", "end_date": "2024-07-03"},
	{"id": "m1", "customer_id": "cus_123", "data_source": "stripe", "type": "one-time", "date": "2024-07-03",
	 "amount_cents": 100, "currency": "eur", "start_date": "2024-07-03", "end_date": "2024-07-03"}
]`

// A JSON import's counts are its answer's, its error rows are the rows in error as sent, a dry
// run is flagged, and another account sees none of it.
func TestImportOfJSONRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, noLimits)
	tn := newTenant(t, e, "imports")
	r := e.do("POST", "/data/invoices", tn.key, mixedInvoices)
	res := requireStatuses(t, r, "inserted", "error", "error", "error")
	require.Equal(t, r.Header.Get("Import-Id"), r.JSON(t)["import_id"])
	imp := e.importOf(tn.key, r)
	requireCounts(t, imp, res)
	require.Equal(t, "completed", imp["status"])
	require.Equal(t, "invoices", imp["entity"])
	require.Equal(t, false, imp["dry_run"])
	require.Equal(t, "application/json", imp["content_type"])
	require.NotNil(t, imp["finished_at"])

	lines := e.errorLines(tn.key, imp["id"].(string))
	require.Len(t, lines, 3)
	var rows []json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(mixedInvoices), &rows))
	for n, i := range []int{1, 2, 3} {
		var line map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(lines[n]), &line), lines[n])
		require.Len(t, line, 5, lines[n])
		require.Equal(t, fmt.Sprint(i), string(line["index"]))
		var compact bytes.Buffer
		require.NoError(t, json.Compact(&compact, rows[i]))
		require.Equal(t, compact.String(), string(line["row"]), "the row as sent")
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(lines[n]), &m))
		require.Equal(t, res[i]["import_error"], m["import_error"])
		require.Equal(t, res[i]["errors"], m["errors"])
		require.Equal(t, res[i]["id"], m["id"])
	}

	dry := e.do("POST", "/data/invoices?dry_run=true", tn.key, mixedInvoices)
	dimp := e.importOf(tn.key, dry)
	requireCounts(t, dimp, rowResults(t, dry))
	require.Equal(t, true, dimp["dry_run"])
	require.Equal(t, dimp["finished_at"], dimp["metrics"].(map[string]any)["caught_up_at"])
	same := e.do("POST", "/data/invoices", tn.key, []json.RawMessage{rows[0]})
	requireCounts(t, e.importOf(tn.key, same), requireStatuses(t, same, "unchanged"))

	other := e.account("other")
	for _, path := range []string{"", "/errors"} {
		requireProblem(t, e.do("GET", "/data/imports/"+imp["id"].(string)+path, other, nil), http.StatusNotFound, "not_found")
	}
	requireProblem(t, e.do("GET", "/data/imports/nope", tn.key, nil), http.StatusNotFound, "not_found")
	list := e.do("GET", "/data/imports", other, nil).JSON(t)["result"].(map[string]any)
	require.EqualValues(t, 0, list["count"])
}

// The list is newest first, pages by cursor, and filters by data source.
func TestImportList(t *testing.T) {
	t.Parallel()
	e := newEnv(t, noLimits)
	tn := newTenant(t, e, "list") // two imports already: customers, plans
	r := e.do("POST", "/data/data_sources", tn.key, map[string]string{"name": "other"})
	require.Equal(t, http.StatusCreated, r.Status)
	last := e.do("POST", "/data/customers", tn.key, `{"id": "x", "data_source": "other"}`).Header.Get("Import-Id")
	var seen []string
	cursor := ""
	for {
		page := e.do("GET", "/data/imports?limit=2&cursor="+cursor, tn.key, nil).JSON(t)["result"].(map[string]any)
		for _, it := range page["list"].([]any) {
			seen = append(seen, it.(map[string]any)["entity"].(string))
		}
		if page["has_more"] != true {
			break
		}
		cursor = page["next_cursor"].(string)
	}
	require.Equal(t, []string{"customers", "plans", "customers"}, seen)
	page := e.do("GET", "/data/imports?source=other", tn.key, nil).JSON(t)["result"].(map[string]any)
	require.EqualValues(t, 1, page["count"])
	require.Equal(t, last, page["list"].([]any)[0].(map[string]any)["id"])
	requireProblem(t, e.do("GET", "/data/imports?cursor=bogus", tn.key, nil), http.StatusBadRequest, "invalid_request")
	requireProblem(t, e.do("GET", "/data/imports?source=nope", tn.key, nil), http.StatusNotFound, "not_found")
}

// An NDJSON import's counts are its answer lines', a line that is not JSON is kept as a string,
// and a stream of several chunks is one import.
func TestImportOfStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, noLimits)
	tn := newTenant(t, e, "stream")
	var b strings.Builder
	for i := range 2500 {
		if i == 1500 {
			b.WriteString("{not json\n")
		}
		fmt.Fprintf(&b, `{"id": "c%d", "data_source": "stripe"}`+"\n", i%2000)
	}
	res, r := ndjson(t, e, "/data/customers", tn.key, b.String())
	require.Len(t, res, 2501)
	imp := e.importOf(tn.key, r)
	requireCounts(t, imp, res)
	require.Equal(t, "completed", imp["status"])
	require.Equal(t, "application/x-ndjson", imp["content_type"])
	lines := e.errorLines(tn.key, imp["id"].(string))
	require.Len(t, lines, 1)
	require.Contains(t, lines[0], `"index":1500,`)
	require.True(t, strings.HasSuffix(lines[0], `,"row":"{not json"}`), lines[0])
}

// A stream the client cut counts the chunks that committed, and is failed.
func TestImportOfCutStream(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, &api.Server{Config: streamConfig(t, noLimits)}, nil)
	tn := newTenant(t, e.env, "cut")
	res, pw := e.openStream(t, tn.key, func(w io.Writer) { customerRows(w, "k", 1500) })
	sc := bufio.NewScanner(res.Body)
	readLines(t, sc, 1000, "inserted") // the first chunk committed
	pw.CloseWithError(errors.New("client gone"))
	require.Error(t, e.waitEnd(t))
	imp := e.importOf(tn.key, response{Header: res.Header})
	require.Equal(t, "failed", imp["status"])
	require.EqualValues(t, 1000, imp["rows"])
	require.EqualValues(t, 1000, imp["inserted"])
}

// The sweep marks a stream whose heartbeat stopped interrupted, and removes imports older than
// IMPORTS_RETENTION with their error rows, and keys older than IDEMPOTENCY_TTL.
func TestImportSweep(t *testing.T) {
	t.Parallel()
	db, err := models.Open(t.Context(), dbtest.NewDatabase(t)) // its own: the sweep sees every account
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	e := newEnvOn(t, db, noLimits)
	tn := newTenant(t, e, "sweep")
	r := e.do("POST", "/data/customers", tn.key, `[5]`, "Idempotency-Key", "k1")
	id := r.Header.Get("Import-Id")
	ctx := t.Context()
	cfg := config.Imports{Retention: time.Hour} // keys expire at their own expires_at (IDEMPOTENCY_TTL when taken)
	require.NoError(t, e.db.Gorm.Exec(`UPDATE imports SET status = 'running', heartbeat_at = now() - interval '1 minute' WHERE id = ?`, id).Error)
	require.NoError(t, imports.Sweep(ctx, e.db.Gorm, cfg, time.Now()))
	require.Equal(t, "running", e.importOf(tn.key, r)["status"], "a fresh heartbeat")
	require.NoError(t, imports.Sweep(ctx, e.db.Gorm, cfg, time.Now().Add(imports.StaleAfter)))
	require.Equal(t, "interrupted", e.importOf(tn.key, r)["status"])
	require.EqualValues(t, 1, e.count(`SELECT count(*) FROM import_errors WHERE import_id = ?`, id))

	require.NoError(t, imports.Sweep(ctx, e.db.Gorm, cfg, time.Now().Add(config.DefaultIdempotencyTTL+time.Hour)))
	requireProblem(t, e.do("GET", "/data/imports/"+id, tn.key, nil), http.StatusNotFound, "not_found")
	require.Zero(t, e.count(`SELECT count(*) FROM import_errors WHERE import_id = ?`, id))
	require.Zero(t, e.count(`SELECT count(*) FROM idempotency_keys`))
}
