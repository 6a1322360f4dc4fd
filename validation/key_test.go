package validation

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

var rowKeyCases = []string{
	`{"id": "inv_1", "data_source": "stripe", "customer_id": "c", "amount_cents": 1}`,
	`{"data_source": "stripe", "id": "inv_1"}`,
	`{"id": "a", "id": "b", "data_source": "s"}`,
	`{"id": "\u00e9t\u00e9", "data_source": "s\"q"}`,
	`{"id": "", "data_source": "s"}`,
	`{"id": null, "data_source": "s"}`,
	`{"id": 12, "data_source": "s"}`,
	`{"id": "x"}`,
	`{"id": "x", "data_source": "\u0000"}`,
	`{"id": "x", "data_source": "` + string(make([]byte, 0)) + `"}`,
	`{"i\u0064": "x", "data_source": "s"}`,
	`[{"id": "x", "data_source": "s"}]`,
	`"x"`,
	`{"id": "x", "data_source": "s"`,
	`{"id": "x", "data_source": "s", "nested": {"id": "y", "data_source": "t"}}`,
}

// RowKey must agree with the full parse of every kind: same id and data source whenever it
// answers, and an answer for every row the full parse accepts.
func checkRowKey(t *testing.T, raw []byte) {
	id, source, ok := RowKey(raw)
	type parsed struct {
		id, source string
		valid      bool
	}
	c, cErrs := ParseCustomer(raw)
	p, pErrs := ParsePlan(raw)
	inv, iErrs := ParseInvoice(raw)
	for kind, got := range map[string]parsed{
		"customer": {c.ID, c.DataSource, len(cErrs) == 0},
		"plan":     {p.ID, p.DataSource, len(pErrs) == 0},
		"invoice":  {inv.ID, inv.DataSource, len(iErrs) == 0},
	} {
		if ok {
			assert.Equal(t, got.id, id, "%s id of %q", kind, raw)
			assert.Equal(t, got.source, source, "%s data_source of %q", kind, raw)
		}
		if got.valid {
			assert.True(t, ok, "RowKey refuses %q, which parses as a valid %s", raw, kind)
		}
	}
	if ok {
		assert.True(t, json.Valid(raw), "RowKey accepts %q, which is not valid JSON", raw)
	}
}

func TestRowKeyAgreesWithParse(t *testing.T) {
	for _, c := range rowKeyCases {
		checkRowKey(t, []byte(c))
	}
	id, source, ok := RowKey([]byte(rowKeyCases[2]))
	assert.True(t, ok)
	assert.Equal(t, "b", id, "the last member wins")
	assert.Equal(t, "s", source)
}

func FuzzRowKey(f *testing.F) {
	for _, c := range rowKeyCases {
		f.Add([]byte(c))
	}
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkRowKey(t, raw) })
}
