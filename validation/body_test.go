package validation

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestDecodeBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"object is one row", `{"id":"a"}`, []string{`{"id":"a"}`}},
		{"object with white space around", " \n\t{ \"id\" : \"a\" }\r\n ", []string{`{ "id" : "a" }`}},
		{"empty object", `{}`, []string{`{}`}},
		{"array of objects", `[{"id":"a"},{"id":"b"}]`, []string{`{"id":"a"}`, `{"id":"b"}`}},
		{"empty array", `[]`, []string{}},
		{"empty array with white space", " [ \n ] ", []string{}},
		{"nested values and white space", "[ \n {\"a\": [1, {\"b\": []}], \"c\": {}} ,\n\t{ } ]",
			[]string{`{"a": [1, {"b": []}], "c": {}}`, `{ }`}},
		{"strings with brackets, commas and escaped quotes", `[{"a":"],}{[,\"\\"},{"b":"x"}]`,
			[]string{`{"a":"],}{[,\"\\"}`, `{"b":"x"}`}},
		{"elements of any type kept", `[5,"x",null,true,[],{"id":"a"},-1.5e3]`,
			[]string{`5`, `"x"`, `null`, `true`, `[]`, `{"id":"a"}`, `-1.5e3`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(tc.body)
			rows, err := decodeRaw(body, 0)
			require.NoError(t, err)
			got := make([]string, len(rows))
			for i, r := range rows {
				got[i] = string(r)
				require.True(t, within(body, r), "row %d is not a slice of the body", i)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// within reports whether sub lies inside the memory of data.
func within(data, sub []byte) bool {
	if len(sub) == 0 {
		return true
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	return p >= start && p+uintptr(len(sub)) <= start+uintptr(len(data))
}

func TestDecodeBodyRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, message string
	}{
		{"empty body", ``, "invalid request body: body is empty"},
		{"only white space", " \n\t ", "invalid request body: body is empty"},
		{"invalid JSON", `{"id":}`,
			"invalid request body: not valid JSON: invalid character '}' looking for beginning of value (at byte 7)"},
		{"unterminated array", `[{"id":"a"}`,
			"invalid request body: not valid JSON: unexpected end of JSON input (at byte 11)"},
		{"top-level string", `"rows"`, "invalid request body: must be a JSON object or an array of objects"},
		{"top-level number", `42`, "invalid request body: must be a JSON object or an array of objects"},
		{"top-level null", `null`, "invalid request body: must be a JSON object or an array of objects"},
		{"top-level boolean", `true`, "invalid request body: must be a JSON object or an array of objects"},
		{"trailing garbage", `[{"id":"a"}] x`,
			"invalid request body: not valid JSON: invalid character 'x' after top-level value (at byte 14)"},
		{"two objects", `{"id":"a"}{"id":"b"}`,
			"invalid request body: not valid JSON: invalid character '{' after top-level value (at byte 11)"},
		{"trailing comma", `[{"id":"a"},]`,
			"invalid request body: not valid JSON: invalid character ']' looking for beginning of value (at byte 13)"},
		{"byte order mark", "\xef\xbb\xbf{}",
			"invalid request body: not valid JSON: invalid character 'ï' looking for beginning of value (at byte 1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rows, err := decodeRaw([]byte(tc.body), 0)
			require.ErrorIs(t, err, ErrBody)
			require.EqualError(t, err, tc.message)
			require.Nil(t, rows)
		})
	}
}

func TestDecodeBodyLimit(t *testing.T) {
	t.Parallel()
	body := []byte(`[{},{},{}]`)

	rows, err := decodeRaw(body, 3)
	require.NoError(t, err)
	require.Len(t, rows, 3)

	rows, err = decodeRaw(body, 2)
	require.ErrorIs(t, err, ErrTooManyRows)
	require.EqualError(t, err, "too many rows: more than 2")
	require.Nil(t, rows)

	rows, err = decodeRaw([]byte(`{"id":"a"}`), 1)
	require.NoError(t, err)
	require.Len(t, rows, 1)

	_, err = decodeRaw([]byte(`[{},`), 1)
	require.ErrorIs(t, err, ErrBody, "a broken body is a 400 whatever its length")
	_, err = decodeRaw([]byte(`[{},{},{"id":}]`), 1)
	require.ErrorIs(t, err, ErrBody, "rows past the limit are still checked")
}

// TestDecodeBodyKeys checks the keys DecodeBody notes while it splits an array: what RowKey reads
// of each row, which lets ingest skip reading the rows again.
func TestDecodeBodyKeys(t *testing.T) {
	t.Parallel()
	body := []byte(`[{"id":"a","data_source":"s"}, {"data_source":"s","id":"a","id":"b"},
		{"\u0069d":"c","data_source":"s\u00e9","x":{"id":"nested"}}, {"id":"d"}, {"id":5,"data_source":"s"},
		{"id":"` + strings.Repeat("x", 300) + `","data_source":"s"}, "row", [{"id":"e","data_source":"s"}], {}]`)
	rows, err := DecodeBody(body, 0)
	require.NoError(t, err)
	type key struct {
		id, source string
		ok         bool
	}
	want := []key{{"a", "s", true}, {"b", "s", true}, {"c", "sé", true}, {"d", "", false}, {}, {}, {}, {}, {}}
	require.Equal(t, len(want), rows.Len())
	for i := range want {
		id, source, ok := rows.Key(i)
		require.Equal(t, want[i], key{id, source, ok}, "row %d", i)
		wantID, wantSource, wantOK := RowKey(rows.At(i))
		require.Equal(t, key{wantID, wantSource, wantOK}, key{id, source, ok}, "row %d as RowKey reads it", i)
	}

	one, err := DecodeBody([]byte(` {"data_source":"s","id":"x"} `), 0)
	require.NoError(t, err)
	id, source, ok := one.Key(0)
	require.Equal(t, key{"x", "s", true}, key{id, source, ok}, "a body of one object")
}

func TestDecodeBodyManyRows(t *testing.T) {
	t.Parallel()
	body := invoiceBody(10000)
	rows, err := decodeRaw(body, 0)
	require.NoError(t, err)
	require.Len(t, rows, 10000)
	for i, r := range rows {
		inv, errs := ParseInvoice(r)
		require.Empty(t, errs)
		require.Equal(t, fmt.Sprintf("inv_%05d", i), inv.ID)
	}
}

// invoiceBody is an array of n valid, distinct invoice rows.
func invoiceBody(n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"id":"inv_%05d","customer_id":"cus_%d","data_source":"stripe","type":"subscription",`+
			`"date":"2024-07-01T00:00:00Z","amount_cents":%d,"currency":"usd","plan_id":"plan_123",`+
			`"subscription_id":"sub_%d","start_date":"2024-07-01T00:00:00+02:00","end_date":"2024-08-01",`+
			`"quantity":1,"discount":0}`, i, i%97, 9900+i, i)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

// decodeRaw is DecodeBody returning the raw rows, for tests that look at them.
func decodeRaw(body []byte, maxRows int) ([]json.RawMessage, error) {
	rows, err := DecodeBody(body, maxRows)
	if err == nil && !rows.ValidJSON() {
		panic("DecodeBody returned rows not marked valid")
	}
	return rows.raw, err
}
