package validation

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// decodeSeeds seed FuzzDecodeAndParse, and FuzzValidJSON too.
var decodeSeeds = []string{
	`{"id":"inv_001","customer_id":"cus_123","data_source":"stripe","type":"subscription",` +
		`"date":"2024-07-01T00:00:00Z","amount_cents":9900,"currency":"USD","plan_id":"plan_123",` +
		`"subscription_id":"sub_001","start_date":"2024-07-01T00:00:00Z","end_date":"2024-08-01T00:00:00Z",` +
		`"quantity":1,"discount":0}`,
	`[{"id":"cus_1","data_source":"stripe","name":"Ada","email":"ada@example.com","country":"gb"},` +
		`{"id":"plan_1","data_source":"stripe","name":"Pro","interval_unit":"YEAR","interval_count":2}]`,
	`[{"id":"inv_2","amount_cents":1.5,"currency":"xxx","date":"2024-02-30","discount":-1,"quantity":0},5,"x",null,[]]`,
	`[{"id":"a\u0000","name":"\ud800","email":"@","amount_cents":"100","end_date":"2024-01-01","start_date":"2024-07-01t00:00:00z"}]`,
	`{"\u0069d":"x","id":"y","ID":"z","data_source":{"nested":["]",{"}":"\""}]}}`,
	`[{"amount_cents":9223372036854775808,"interval_count":2147483648,"discount":1e2,"date":20240701}]`,
	`[]`,
	` [ { } , { } ] `,
	`{"id":`,
	`[{"id":"a"},]`,
	`[{"id":"a"}] trailing`,
	`"just a string"`,
	`null`,
	"\xef\xbb\xbf{}",
	"[{\"id\":\"\xff\xfe\"}]",
	``,
}

// FuzzDecodeAndParse feeds any bytes through DecodeBody and every Parse function: nothing may
// panic, an array must split into exactly its elements, and every error must say something.
func FuzzDecodeAndParse(f *testing.F) {
	for _, seed := range decodeSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rows, err := decodeRaw(body, 0)
		if err != nil {
			if rows != nil {
				t.Fatalf("rows returned with error %v", err)
			}
		} else {
			var elements []json.RawMessage
			if json.Unmarshal(body, &elements) == nil && len(elements) != len(rows) {
				t.Fatalf("%d rows for %d array elements", len(rows), len(elements))
			}
			for i, r := range rows {
				if !json.Valid(r) {
					t.Fatalf("row %d is not valid JSON: %q", i, r)
				}
				if elements != nil && string(elements[i]) != string(r) {
					t.Fatalf("row %d is %q, element is %q", i, r, elements[i])
				}
				checkMembers(t, r)
			}
			checkKeys(t, body)
		}
		// The Parse functions must also survive raw text that DecodeBody never hands out (an NDJSON
		// line can be anything), so the whole body is parsed as one row too.
		for _, r := range append(rows, body) {
			_, invErrs := ParseInvoice(r)
			_, cusErrs := ParseCustomer(r)
			_, planErrs := ParsePlan(r)
			// The ValidJSON variants trust their caller; fed anything else they may answer
			// wrongly but must not panic. On valid JSON they must answer exactly as the others.
			inv2, invErrs2 := ParseInvoiceValidJSON(r)
			cus2, cusErrs2 := ParseCustomerValidJSON(r)
			plan2, planErrs2 := ParsePlanValidJSON(r)
			if json.Valid(r) {
				inv1, _ := ParseInvoice(r)
				cus1, _ := ParseCustomer(r)
				plan1, _ := ParsePlan(r)
				if !reflect.DeepEqual(inv1, inv2) || !reflect.DeepEqual(invErrs, invErrs2) ||
					!reflect.DeepEqual(cus1, cus2) || !reflect.DeepEqual(cusErrs, cusErrs2) ||
					!reflect.DeepEqual(plan1, plan2) || !reflect.DeepEqual(planErrs, planErrs2) {
					t.Fatalf("ValidJSON variants differ on valid row %q", r)
				}
			}
			for _, errs := range [][]FieldError{invErrs, cusErrs, planErrs} {
				for _, e := range errs {
					if e.Code == "" || e.Message == "" {
						t.Fatalf("empty error %+v for row %q", e, r)
					}
				}
			}
		}
	})
}

// checkMembers compares the members the row walker finds in an object with those encoding/json
// finds, last duplicate winning in both. Names with invalid UTF-8 are left out: encoding/json
// replaces their bad bytes, the walker does not, and no field we read has such a name.
func checkMembers(t *testing.T, row []byte) {
	var want map[string]json.RawMessage
	if json.Unmarshal(row, &want) != nil || want == nil || !utf8.Valid(row) {
		return
	}
	got := map[string]json.RawMessage{}
	m, errs := openRow(row, false)
	if errs != nil {
		t.Fatalf("object %q refused: %v", row, errs)
	}
	for m.next() {
		got[string(m.key)] = m.value
	}
	if len(got) != len(want) {
		t.Fatalf("%d members found in %q, encoding/json finds %d", len(got), row, len(want))
	}
	for name, value := range want {
		if string(got[name]) != string(value) {
			t.Fatalf("member %q of %q is %q, encoding/json says %q", name, row, got[name], value)
		}
	}
}

// checkKeys compares each row's key as DecodeBody noted it with RowKey's reading of the row.
func checkKeys(t *testing.T, body []byte) {
	rows, err := DecodeBody(body, 0)
	if err != nil {
		t.Fatalf("DecodeBody: %v", err)
	}
	for i := range rows.Len() {
		id, source, ok := rows.Key(i)
		wantID, wantSource, wantOK := RowKey(rows.At(i))
		if id != wantID || source != wantSource || ok != wantOK {
			t.Fatalf("row %d %q: key (%q, %q, %v), RowKey says (%q, %q, %v)",
				i, rows.At(i), id, source, ok, wantID, wantSource, wantOK)
		}
	}
}
