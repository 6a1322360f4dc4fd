package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/models/dbtest"
	"invoice-ingest/validation"
)

// TestSmoke runs the whole tool small, as CI's check that it still works end to end (it builds
// the service binary with go build). It asserts the JSON line's shape, never timing ratios.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the service binary")
	}
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"-rows", "3000", "-batch", "500", "-clients", "2", "-rounds", "2", "-recalc-customers", "500",
		"-ndjson-rows", "2000", "-push-rows", "2000", "-preload", "3000", "-freshness", "2s", "-freshness-rate", "2000", "-database-url", dbtest.ServerURL()}, &stdout, &stderr)
	require.NoError(t, err, "stderr:\n%s", stderr.String())

	out := strings.TrimSpace(stdout.String())
	last := out[strings.LastIndexByte(out, '\n')+1:]
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(last), &got), "last line: %s", last)
	want := []string{"copy_rows_per_s", "raw_insert_rows_per_s", "raw_unchanged_rows_per_s", "raw_update_rows_per_s",
		"gorm_insert_rows_per_s", "e2e_insert_rows_per_s", "e2e_unchanged_rows_per_s", "e2e_update_rows_per_s",
		"recalc_customers_per_s", "copy_pg_cpu_s", "e2e_insert_pg_cpu_s", "freshness_p50_ms", "freshness_p95_ms",
		"ndjson_rows_per_s", "ndjson_x_e2e_insert", "recalc_worker_cpu_s", "recalc_pg_cpu_s", "rounds", "e2e_insert_x_copy",
		"e2e_insert_pg_cpu_x_copy", "e2e_unchanged_x_raw", "e2e_insert_rows_per_s_preloaded", "e2e_unchanged_rows_per_s_preloaded",
		"e2e_update_rows_per_s_preloaded", "recalc_customers_per_s_preloaded", "invoices_table_mib_per_m_rows_preloaded",
		"invoices_indexes_mib_per_m_rows_preloaded"}
	var keys []string
	for k, v := range got {
		keys = append(keys, k)
		n, ok := v.(float64)
		require.True(t, ok && n > 0, "%s = %v, want a positive number", k, v)
	}
	slices.Sort(keys)
	slices.Sort(want)
	require.Equal(t, want, keys)
	require.Regexp(t, `NDJSON: one stream of 2000 rows to a fresh server, 2 rounds: .* rows/s in .* \([0-9.]+ x the same server.s 2-client insert of 2000 rows`, out)
	require.Regexp(t, `\n  stream round 2: [0-9]+ rows/s, [0-9.]+ x the insert before it`, out)
	require.Regexp(t, `\ne2e@stream +insert +2000 `, out)
	require.Contains(t, out, "RSS: one 10000-row JSON request")
	require.Regexp(t, `\ne2e@push +insert +2000 `, out, "the same rows posted by the e2e client")
	require.Regexp(t, `push: 2000-row ndjson file: .* rows/s \([0-9.]+ x e2e insert.*; [0-9.]+ x e2e@push`, out)
	require.Regexp(t, `push: 2000-row csv file: .* client peak RSS [1-9][0-9.]* MiB`, out)
	require.Regexp(t, `Freshness: .* [1-9][0-9]* probes: p50 `, out, "at least one probe saw its write")
	require.Equal(t, 2.0, got["rounds"])
	require.Regexp(t, `\n  round 2: COPY [0-9]+ rows/s; e2e insert [0-9.]+ x COPY`, out)
	// Each preloaded round inserts rows of its own: the load tool checks the count after each.
	require.Regexp(t, `Preloaded: 3000 invoices over 100000 customers .* then 2 rounds`, out)
	require.Regexp(t, `\n  preloaded round 2, rows/s: insert [0-9]+; unchanged [0-9]+; update [0-9]+;`, out)
	require.Regexp(t, `invoices: 9000 rows;`, out, "3,000 preloaded and 3,000 per round")
}

// TestRatiosPairPassesOfOneRound checks the arithmetic of -rounds on made-up passes: a ratio is
// the median of the ratios within each round, not the ratio of the median rates, and a pass that
// ran once is compared with the other's median round.
func TestRatiosPairPassesOfOneRound(t *testing.T) {
	b := &bench{}
	pass := func(method string, round int, seconds, pgCPU float64) {
		b.round = round
		b.log = func(string, ...any) {}
		b.add(result{method: method, pass: "insert", rows: 1000, dur: time.Duration(seconds * float64(time.Second)), cpu: cpuUse{pg: pgCPU}})
	}
	// The machine halves its speed in round 2 and doubles it in round 3; e2e runs at 0.7, 0.9
	// and 0.8 x COPY in the three rounds. The ratio of the median rates would be 700/1000.
	pass("COPY", 1, 1, 1)
	pass("e2e", 1, 1/0.7, 1.1)
	pass("COPY", 2, 2, 2)
	pass("e2e", 2, 2/0.9, 2.4)
	pass("COPY", 3, 0.5, 0.5)
	pass("e2e", 3, 0.625, 0.55)
	pass("GORM", 0, 2, 3)

	require.InDelta(t, 0.8, b.ratio("e2e", "insert", "COPY", "insert", rateOf), 1e-9)
	require.InDelta(t, 1.1, b.ratio("e2e", "insert", "COPY", "insert", pgCPUOf), 1e-9, "median of 1.1, 1.2 and 1.1")
	require.InDelta(t, 700, b.rate("e2e", "insert"), 1e-6, "the median round's rate")
	require.InDelta(t, 0.5, b.ratio("GORM", "insert", "COPY", "insert", rateOf), 1e-9, "500/s against COPY's median 1000/s")
	require.Equal(t, 1, b.pass("COPY", "insert").round)
}

// TestGeneratedRowsAreValid checks, without a database, that every generated row passes the
// service's validation (a rejected row would fail the e2e passes) and that the update pass
// really changes every row.
func TestGeneratedRowsAreValid(t *testing.T) {
	types := map[string]int{}
	for i := range 5000 {
		v0, v1 := genInvoice(i, 1000, 0), genInvoice(i, 1000, 1)
		inv, errs := validation.ParseInvoice(appendJSON(nil, &v0, "bench"))
		require.Empty(t, errs, "row %d: %s", i, appendJSON(nil, &v0, "bench"))
		require.Equal(t, v0.id, inv.ID)
		require.Equal(t, v0.amount, inv.AmountCents)
		require.NotEqual(t, v0.hash, v1.hash, "row %d: the update pass must change it", i)
		require.Equal(t, v0.id, v1.id)
		types[v0.typ]++
	}
	require.Len(t, types, 4, "all four invoice types: %v", types)
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-batch", "0"}, {"-batch", "10001"}, {"-clients", "0"}, {"-rows", "-1"}, {"-rounds", "0"}, {"extra"}} {
		_, err := parseFlags(args, &bytes.Buffer{})
		require.Error(t, err, "%v", args)
	}
	c, err := parseFlags(nil, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, 100000, c.rows)
	require.Equal(t, 1000, c.batch)
	require.Equal(t, 4, c.clients)
	require.Equal(t, 1000, c.customers)
	require.Equal(t, 3, c.rounds)
}

// TestAnswersAllTakesOnlyTheExactAnswer: the byte comparison that spares the e2e client a decode
// must accept the server's answer when every row has the status wanted, and nothing else.
func TestAnswersAllTakesOnlyTheExactAnswer(t *testing.T) {
	rows := []invoice{{id: "inv_0"}, {id: "inv_1"}, {id: `q"1`}}
	head := `{"import_id":"0b6d6a54-8f0e-4a7e-9d7c-1f2b3c4d5e6f","result":[`
	good := head + `{"index":0,"id":"inv_0","import_status":"inserted"},` +
		`{"index":1,"id":"inv_1","import_status":"inserted"}]}`
	require.True(t, answersAll([]byte(good), rows[:2], "inserted"))
	for name, answer := range map[string]string{
		"another status":  strings.Replace(good, `"inserted"}]`, `"updated"}]`, 1),
		"another id":      strings.Replace(good, `"inv_1"`, `"inv_2"`, 1),
		"another index":   strings.Replace(good, `"index":1`, `"index":2`, 1),
		"a row missing":   head + `{"index":0,"id":"inv_0","import_status":"inserted"}]}`,
		"a row too many":  strings.Replace(good, `]}`, `,{"index":2,"id":"x","import_status":"inserted"}]}`, 1),
		"an error member": strings.Replace(good, `"inserted"}]`, `"inserted","import_error":"x"}]`, 1),
		"trailing bytes":  good + " ",
		"no import id":    strings.Replace(good, `"import_id"`, `"id"`, 1),
	} {
		require.False(t, answersAll([]byte(answer), rows[:2], "inserted"), name)
	}
	escaped := head + `{"index":0,"id":"q\"1","import_status":"inserted"}]}`
	require.False(t, answersAll([]byte(escaped), rows[2:], "inserted"), "an id JSON escapes is left to the decoder")
}

// TestCheckNDJSONLine: a stream's answer line passes only when it answers its row as inserted,
// whether it is recognised by its bytes or decoded.
func TestCheckNDJSONLine(t *testing.T) {
	good := `{"index":7,"id":"inv_7","import_status":"inserted"}` + "\n"
	require.NoError(t, checkNDJSONLine([]byte(good), 7))
	require.NoError(t, checkNDJSONLine([]byte(`{"import_status":"inserted","id":"inv_7","index":7}`+"\n"), 7),
		"the same result in another member order is decoded")
	for name, line := range map[string]string{
		"another index":  good,
		"another status": strings.Replace(good, `"inserted"`, `"updated"`, 1),
		"another id":     strings.Replace(good, `"inv_7"`, `"inv_8"`, 1),
		"an error line":  `{"error":{"code":"unavailable","message":"x"}}` + "\n",
		"not JSON":       "inserted\n",
	} {
		index := 7
		if name == "another index" {
			index = 8
		}
		require.Error(t, checkNDJSONLine([]byte(line), index), name)
	}
}

// TestStreamRoundsMedian: the stream's figure is the round whose ratio to the insert before it is
// the median, not the fastest stream.
func TestStreamRoundsMedian(t *testing.T) {
	round := func(streamSeconds, insertSeconds float64) ndjsonRound {
		return ndjsonRound{
			stream: result{rows: 1000, dur: time.Duration(streamSeconds * float64(time.Second))},
			insert: result{rows: 100, dur: time.Duration(insertSeconds * float64(time.Second))},
		}
	}
	m := &ndjsonResult{rounds: []ndjsonRound{round(10, 0.8), round(8, 0.9), round(12, 1.08)}} // 0.8, 1.125, 0.9
	require.InDelta(t, 0.9, m.median().ratio(), 1e-9)
	require.InDelta(t, 1000.0/12, m.median().stream.rate(), 1e-9, "that round's stream, not the fastest")
	m.rounds = m.rounds[:2]
	require.InDelta(t, 0.8, m.median().ratio(), 1e-9, "the lower of the middle two")
}
