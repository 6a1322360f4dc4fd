package validation

import (
	"encoding/json"
	"testing"
)

// benchInvoice is a typical invoice row with every field, one date carrying an offset.
var benchInvoice = json.RawMessage(`{"id":"inv_000123","customer_id":"cus_42","data_source":"stripe",` +
	`"type":"subscription","date":"2024-07-01T00:00:00Z","amount_cents":9900,"currency":"usd",` +
	`"plan_id":"plan_123","subscription_id":"sub_001","start_date":"2024-07-01T00:00:00+02:00",` +
	`"end_date":"2024-08-01","quantity":1,"discount":0}`)

func BenchmarkParseInvoice(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchInvoice)))
	for b.Loop() {
		if _, errs := ParseInvoice(benchInvoice); errs != nil {
			b.Fatal(errs)
		}
	}
}

func BenchmarkParseInvoiceParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, errs := ParseInvoice(benchInvoice); errs != nil {
				b.Error(errs)
				return
			}
		}
	})
}

func BenchmarkParseInvoiceErrors(b *testing.B) {
	row := json.RawMessage(`{"id":"inv_1","customer_id":5,"type":"x","date":"soon","amount_cents":1.5,` +
		`"currency":"XYZ","start_date":"2024-07-01","end_date":"2024-06-01","quantity":0}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := ParseInvoice(row); len(errs) == 0 {
			b.Fatal("no errors")
		}
	}
}

func BenchmarkParseCustomer(b *testing.B) {
	row := json.RawMessage(`{"id":"cus_42","data_source":"stripe","name":"Ada Lovelace",` +
		`"email":"ada@example.com","company":"Analytical Engines Ltd","country":"gb"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := ParseCustomer(row); errs != nil {
			b.Fatal(errs)
		}
	}
}

func BenchmarkParsePlan(b *testing.B) {
	row := json.RawMessage(`{"id":"plan_123","data_source":"stripe","name":"Pro","interval_unit":"month","interval_count":1}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := ParsePlan(row); errs != nil {
			b.Fatal(errs)
		}
	}
}

// BenchmarkDecodeBody splits a body of 10,000 invoice rows (about 3.3 MB).
func BenchmarkDecodeBody(b *testing.B) {
	body := invoiceBody(10000)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if rows, err := decodeRaw(body, 0); err != nil || len(rows) != 10000 {
			b.Fatal(err, len(rows))
		}
	}
}

// BenchmarkDecodeBodyKeys splits the same body and reads every row's key: what ingest does
// with a JSON body before it looks for the stored rows.
func BenchmarkDecodeBodyKeys(b *testing.B) {
	body := invoiceBody(10000)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		rows, err := DecodeBody(body, 0)
		if err != nil || rows.Len() != 10000 {
			b.Fatal(err, rows.Len())
		}
		for i := range rows.Len() {
			if _, _, ok := rows.Key(i); !ok {
				b.Fatal("no key", i)
			}
		}
	}
}

func BenchmarkParseInvoiceValidJSON(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchInvoice)))
	for b.Loop() {
		if _, errs := ParseInvoiceValidJSON(benchInvoice); errs != nil {
			b.Fatal(errs)
		}
	}
}
