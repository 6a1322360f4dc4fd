package validation

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// member is one member of a test row: its name and its JSON text.
type member struct{ name, json string }

// object writes members as a JSON object, in their order.
func object(ms []member) json.RawMessage {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + m.name + `":` + m.json)
	}
	b.WriteByte('}')
	return json.RawMessage(b.String())
}

// with returns base with some members replaced (or added at the end); a replacement whose JSON
// text is "" removes the member.
func with(base []member, changes ...member) json.RawMessage {
	out := append([]member(nil), base...)
	for _, c := range changes {
		found := false
		for i := range out {
			if out[i].name == c.name {
				out[i].json, found = c.json, true
			}
		}
		if !found {
			out = append(out, c)
		}
	}
	kept := out[:0]
	for _, m := range out {
		if m.json != "" {
			kept = append(kept, m)
		}
	}
	return object(kept)
}

func required(field, message string) FieldError {
	return FieldError{Field: field, Code: CodeRequired, Message: message}
}

func invalid(field, message string) FieldError {
	return FieldError{Field: field, Code: CodeInvalid, Message: message}
}

// notObjectRows are rows every Parse function refuses as a whole.
var notObjectRows = []struct {
	name, raw string
	want      FieldError
}{
	{"number", `5`, invalid("", "Row must be a JSON object")},
	{"string", `"x"`, invalid("", "Row must be a JSON object")},
	{"null", `null`, invalid("", "Row must be a JSON object")},
	{"array", `[]`, invalid("", "Row must be a JSON object")},
	{"array of object", `[{"id":"a"}]`, invalid("", "Row must be a JSON object")},
	{"boolean", ` true `, invalid("", "Row must be a JSON object")},
	{"empty", ``, invalid("", "Row is not valid JSON")},
	{"broken object", `{"id":`, invalid("", "Row is not valid JSON")},
	{"trailing garbage", `{"id":"a"} x`, invalid("", "Row is not valid JSON")},
	{"two objects", `{}{}`, invalid("", "Row is not valid JSON")},
}

func TestParseNotObject(t *testing.T) {
	t.Parallel()
	for _, tc := range notObjectRows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inv, errs := ParseInvoice(json.RawMessage(tc.raw))
			require.Equal(t, []FieldError{tc.want}, errs)
			require.Equal(t, Invoice{}, inv)
			c, errs := ParseCustomer(json.RawMessage(tc.raw))
			require.Equal(t, []FieldError{tc.want}, errs)
			require.Equal(t, Customer{}, c)
			p, errs := ParsePlan(json.RawMessage(tc.raw))
			require.Equal(t, []FieldError{tc.want}, errs)
			require.Equal(t, Plan{}, p)
		})
	}
}

func TestShownCutsLongValues(t *testing.T) {
	t.Parallel()
	require.Equal(t, `"x"`, shown([]byte(`"x"`)))
	require.Equal(t, `"{\"a\":1}"`, shown([]byte(`{"a":1}`)))
	require.Equal(t, `"a\"b"`, shown([]byte(`"a\"b"`)))
	long := strings.Repeat("é", 40) // 80 bytes: the cut must not split a character
	got := shown([]byte(`"` + long + `"`))
	require.Equal(t, `"`+strings.Repeat("é", 32)+`…"`, got)
}
