package main

import (
	"context"
	"encoding/csv"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/client"
)

func TestPushCSVGoodAndBadRows(t *testing.T) {
	t.Parallel()
	s := newPushServer(t)
	file := writeFile(t, "invoices.csv", invoiceHeader+
		"inv_1,cus_1,subscription,2024-07-01,9900,USD,2024-07-01,2024-08-01\n"+
		"inv_2,cus_404,one-time,2024-07-02,100,EUR,2024-07-02,2024-07-02\n"+
		"inv_3,cus_2,one-time,2024-07-03,12.5,EUR,2024-07-03,2024-07-03\n"+
		"inv_4,cus_3,refund,2024-07-04,500,eur,2024-07-04,2024-07-04\n")
	errorsFile := file + ".errors.csv"
	ctx := context.Background()
	r := s.push(t, ctx, nil, "push", "--entity", "invoices", "--source", "src", "--batch", "2", "--json", "--errors", errorsFile, file)
	require.Equal(t, 1, r.code, r.stderr)
	sum := r.summary(t)
	require.Equal(t, client.Counts{Rows: 4, Inserted: 2, Errors: 2}, sum.Counts)
	require.Contains(t, r.stderr, "push: 4 rows in ")
	require.Contains(t, r.stderr, "2 inserted, 0 updated, 0 unchanged, 2 errors")
	require.Contains(t, r.stderr, "2 rows in error (see the errors file)")

	f, err := os.Open(errorsFile)
	require.NoError(t, err)
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	require.NoError(t, err)
	require.Equal(t, [][]string{
		{"id", "customer_id", "type", "date", "amount_cents", "currency", "start_date", "end_date", "import_error"},
		{"inv_2", "cus_404", "one-time", "2024-07-02", "100", "EUR", "2024-07-02", "2024-07-02", "Customer ID cus_404 does not exist"},
		{"inv_3", "cus_2", "one-time", "2024-07-03", "12.5", "EUR", "2024-07-03", "2024-07-03", "amount_cents must be a non-negative integer"},
	}, recs)
	_, err = os.Stat(file + ".push-state")
	require.True(t, os.IsNotExist(err), "a finished run leaves no state file")

	// the errors file, fixed, is pushed as it is (its import_error column is ignored)
	fixed := strings.NewReplacer("cus_404", "cus_1", "12.5", "1250").Replace(readFile(t, errorsFile))
	fixedFile := writeFile(t, "fixed.csv", fixed)
	r = s.push(t, ctx, nil, "push", "--entity", "invoices", "--source", "src", "--json", fixedFile)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, client.Counts{Rows: 2, Inserted: 2}, r.summary(t).Counts)
}

func TestPushSameFileTwice(t *testing.T) {
	t.Parallel()
	s := newPushServer(t)
	file := writeFile(t, "invoices.csv", invoiceCSV(5))
	ctx := context.Background()
	r := s.push(t, ctx, nil, "push", "--entity", "invoices", "--source", "src", "--batch", "2", "--json", file)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, client.Counts{Rows: 5, Inserted: 5}, r.summary(t).Counts)
	r = s.push(t, ctx, nil, "push", "--entity", "invoices", "--source", "src", "--batch", "2", "--json", file)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, client.Counts{Rows: 5, Unchanged: 5}, r.summary(t).Counts, "a second run is new batches (new keys): the rows answer unchanged")
	require.Equal(t, 6, s.postsTo("/data/invoices"))
}

func TestPushAmountUnitMajor(t *testing.T) {
	t.Parallel()
	s := newPushServer(t)
	file := writeFile(t, "major.csv", "id,customer_id,type,date,amount_cents,discount,currency,start_date,end_date\n"+
		"inv_jpy,cus_1,one-time,2024-07-01,1500,,JPY,2024-07-01,2024-07-01\n"+
		"inv_usd,cus_1,one-time,2024-07-01,99.50,0.5,usd,2024-07-01,2024-07-01\n"+
		"inv_kwd,cus_1,one-time,2024-07-01,12.345,,KWD,2024-07-01,2024-07-01\n"+
		"inv_bad,cus_1,one-time,2024-07-01,1500.5,,JPY,2024-07-01,2024-07-01\n")
	r := s.push(t, context.Background(), nil, "push", "--entity", "invoices", "--source", "src", "--amount-unit", "major", "--json", "--errors", file+".err", file)
	require.Equal(t, 1, r.code, r.stderr)
	require.Equal(t, client.Counts{Rows: 4, Inserted: 3, Errors: 1}, r.summary(t).Counts)
	require.Contains(t, readFile(t, file+".err"), `amount_cents: ""1500.5"" has more decimals than JPY has (0)`)
	got := map[string][2]float64{}
	for _, inv := range listInvoices(t, s) {
		d, _ := inv["discount"].(float64)
		got[inv["id"].(string)] = [2]float64{inv["amount_cents"].(float64), d}
	}
	require.Equal(t, map[string][2]float64{"inv_jpy": {1500, 0}, "inv_usd": {9950, 50}, "inv_kwd": {12345, 0}}, got)
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}
