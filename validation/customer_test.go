package validation

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var minimalCustomer = []member{{"id", `"cus_123"`}, {"data_source", `"stripe"`}}

func TestParseCustomerValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  json.RawMessage
		want Customer
	}{
		{"minimal row", object(minimalCustomer), Customer{ID: "cus_123", DataSource: "stripe"}},
		{"every field", with(minimalCustomer, member{"name", `"Ada Lovelace"`}, member{"email", `"ada@example.com"`},
			member{"company", `"Analytical Engines Ltd"`}, member{"country", `"GB"`}),
			Customer{ID: "cus_123", DataSource: "stripe", Name: "Ada Lovelace", Email: "ada@example.com",
				Company: "Analytical Engines Ltd", Country: "GB"}},
		{"optional fields null are absent", with(minimalCustomer, member{"name", `null`}, member{"email", `null`},
			member{"company", `null`}, member{"country", `null`}),
			Customer{ID: "cus_123", DataSource: "stripe"}},
		{"optional fields empty are absent", with(minimalCustomer, member{"name", `""`}, member{"email", `""`},
			member{"company", `""`}, member{"country", `""`}),
			Customer{ID: "cus_123", DataSource: "stripe"}},
		{"country lower case stored upper", with(minimalCustomer, member{"country", `"de"`}),
			Customer{ID: "cus_123", DataSource: "stripe", Country: "DE"}},
		{"country mixed case stored upper", with(minimalCustomer, member{"country", `"uS"`}),
			Customer{ID: "cus_123", DataSource: "stripe", Country: "US"}},
		{"email kept as given", with(minimalCustomer, member{"email", `"Ada.L+billing@Example.COM"`}),
			Customer{ID: "cus_123", DataSource: "stripe", Email: "Ada.L+billing@Example.COM"}},
		{"name of 1000 bytes", with(minimalCustomer, member{"name", `"` + strings.Repeat("n", 1000) + `"`}),
			Customer{ID: "cus_123", DataSource: "stripe", Name: strings.Repeat("n", 1000)}},
		{"name with escapes decoded", with(minimalCustomer, member{"name", `"Caf\u00e9 \"Zur\""`}),
			Customer{ID: "cus_123", DataSource: "stripe", Name: `Café "Zur"`}},
		{"unknown fields ignored", with(minimalCustomer, member{"phone", `123`}, member{"Name", `"ignored"`}),
			Customer{ID: "cus_123", DataSource: "stripe"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, errs := ParseCustomer(tc.raw)
			require.Empty(t, errs)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseCustomerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  json.RawMessage
		want []FieldError
	}{
		{"id absent", with(minimalCustomer, member{"id", ""}), []FieldError{required("id", "Missing customer ID")}},
		{"id null", with(minimalCustomer, member{"id", `null`}), []FieldError{required("id", "Missing customer ID")}},
		{"id empty", with(minimalCustomer, member{"id", `""`}), []FieldError{required("id", "Missing customer ID")}},
		{"id a number", with(minimalCustomer, member{"id", `42`}),
			[]FieldError{invalid("id", "id must be a string of 1 to 255 bytes")}},
		{"id too long", with(minimalCustomer, member{"id", `"` + strings.Repeat("c", 256) + `"`}),
			[]FieldError{invalid("id", "id must be a string of 1 to 255 bytes")}},
		{"data_source absent", with(minimalCustomer, member{"data_source", ""}),
			[]FieldError{required("data_source", "Missing data source")}},
		{"data_source null", with(minimalCustomer, member{"data_source", `null`}),
			[]FieldError{required("data_source", "Missing data source")}},
		{"data_source an array", with(minimalCustomer, member{"data_source", `["stripe"]`}),
			[]FieldError{invalid("data_source", "data_source must be a string of 1 to 255 bytes")}},
		{"name a number", with(minimalCustomer, member{"name", `1`}),
			[]FieldError{invalid("name", "name must be a string of at most 1000 bytes")}},
		{"name too long", with(minimalCustomer, member{"name", `"` + strings.Repeat("n", 1001) + `"`}),
			[]FieldError{invalid("name", "name must be a string of at most 1000 bytes")}},
		{"name with NUL", with(minimalCustomer, member{"name", `"a\u0000b"`}),
			[]FieldError{invalid("name", "name must be valid UTF-8 without NUL characters")}},
		{"email not an address", with(minimalCustomer, member{"email", `"x"`}),
			[]FieldError{invalid("email", `Invalid email "x": must be a valid email address`)}},
		{"email without domain", with(minimalCustomer, member{"email", `"ada@"`}),
			[]FieldError{invalid("email", `Invalid email "ada@": must be a valid email address`)}},
		{"email with display name", with(minimalCustomer, member{"email", `"Ada <ada@example.com>"`}),
			[]FieldError{invalid("email", `Invalid email "Ada <ada@example.com>": must be a valid email address`)}},
		{"email a number", with(minimalCustomer, member{"email", `5`}),
			[]FieldError{invalid("email", `Invalid email "5": must be a valid email address`)}},
		{"email too long", with(minimalCustomer, member{"email", `"` + strings.Repeat("a", 250) + `@example.com"`}),
			[]FieldError{invalid("email", `Invalid email "`+strings.Repeat("a", 64)+`…": must be a valid email address`)}},
		{"company an object", with(minimalCustomer, member{"company", `{}`}),
			[]FieldError{invalid("company", "company must be a string of at most 1000 bytes")}},
		{"country unknown", with(minimalCustomer, member{"country", `"XX"`}),
			[]FieldError{invalid("country", `Invalid country "XX": must be an ISO 3166-1 alpha-2 code`)}},
		{"country alpha-3", with(minimalCustomer, member{"country", `"USA"`}),
			[]FieldError{invalid("country", `Invalid country "USA": must be an ISO 3166-1 alpha-2 code`)}},
		{"country a number", with(minimalCustomer, member{"country", `49`}),
			[]FieldError{invalid("country", `Invalid country "49": must be an ISO 3166-1 alpha-2 code`)}},
		{"every field broken in field order", json.RawMessage(
			`{"country":"ZZ","company":[],"email":"@","name":false,"data_source":null,"id":""}`), []FieldError{
			required("id", "Missing customer ID"),
			required("data_source", "Missing data source"),
			invalid("name", "name must be a string of at most 1000 bytes"),
			invalid("email", `Invalid email "@": must be a valid email address`),
			invalid("company", "company must be a string of at most 1000 bytes"),
			invalid("country", `Invalid country "ZZ": must be an ISO 3166-1 alpha-2 code`),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, errs := ParseCustomer(tc.raw)
			require.Equal(t, tc.want, errs)
		})
	}
}

func TestParseCustomerKeepsIDOfAnErrorRow(t *testing.T) {
	t.Parallel()
	got, errs := ParseCustomer(with(minimalCustomer, member{"email", `"nope"`}))
	require.Len(t, errs, 1)
	require.Equal(t, "cus_123", got.ID)
}
