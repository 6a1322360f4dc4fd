package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// ndjson posts an NDJSON body and returns the result lines.
func ndjson(t *testing.T, e *env, path, key, body string) ([]map[string]any, response) {
	t.Helper()
	r := e.do("POST", path, key, body, "Content-Type", "application/x-ndjson")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Equal(t, "application/x-ndjson", r.Header.Get("Content-Type"))
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		out = append(out, m)
	}
	return out, r
}

func TestNDJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := newTenant(t, e, "ndjson")

	t.Run("rows, bad lines and blank lines", func(t *testing.T) {
		body := "{\"id\": \"n1\", \"data_source\": \"stripe\"}\r\n\n{not json\n  \n5\n" +
			`{"id": "` + strings.Repeat("x", 2<<20) + `"}` + "\n{\"id\": \"n2\", \"data_source\": \"stripe\"}"
		res, _ := ndjson(t, e, "/data/customers", tn.key, body)
		require.Len(t, res, 5)
		for i, r := range res {
			require.EqualValues(t, i, r["index"])
		}
		require.Equal(t, "inserted", res[0]["import_status"])
		require.Equal(t, "Row is not valid JSON", res[1]["import_error"])
		require.Equal(t, "Row must be a JSON object", res[2]["import_error"])
		require.Equal(t, "Row is longer than 1048576 bytes", res[3]["import_error"])
		require.Equal(t, "inserted", res[4]["import_status"], "the stream goes on after bad lines")
	})

	t.Run("many chunks, then re-sent unchanged", func(t *testing.T) {
		var b strings.Builder
		const n = 2500
		for i := range n {
			fmt.Fprintf(&b, `{"id": "s%d", "customer_id": "cus_123", "data_source": "stripe", "type": "one-time", "date": "2024-07-03", "amount_cents": %d, "currency": "usd", "start_date": "2024-07-03", "end_date": "2024-07-03"}`+"\n", i, i)
		}
		res, _ := ndjson(t, e, "/data/invoices", tn.key, b.String())
		require.Len(t, res, n)
		for i, r := range res {
			require.EqualValues(t, i, r["index"])
			require.Equal(t, fmt.Sprintf("s%d", i), r["id"])
			require.Equal(t, "inserted", r["import_status"])
		}
		require.EqualValues(t, n, e.count(`SELECT count(*) FROM invoices WHERE source_id = ? AND id LIKE 's%'`, tn.sourceID))
		res, _ = ndjson(t, e, "/data/invoices", tn.key, b.String())
		for _, r := range res {
			require.Equal(t, "unchanged", r["import_status"])
		}
	})

	t.Run("empty stream", func(t *testing.T) {
		res, r := ndjson(t, e, "/data/plans", tn.key, "")
		require.Empty(t, res)
		require.Empty(t, r.Body)
	})

	t.Run("dry run", func(t *testing.T) {
		res, _ := ndjson(t, e, "/data/customers?dry_run=true", tn.key, `{"id": "dry", "data_source": "stripe"}`)
		require.Equal(t, "inserted", res[0]["import_status"])
		require.Zero(t, e.count(`SELECT count(*) FROM customers WHERE source_id = ? AND id = 'dry'`, tn.sourceID))
	})
}
