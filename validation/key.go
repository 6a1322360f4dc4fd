package validation

import "encoding/json"

// RowKey returns a row's id and data_source exactly as the full parse (ParseCustomer, ParsePlan,
// ParseInvoice) returns them for a valid row, checking nothing else. It lets a caller find the
// stored row before deciding whether the rest needs parsing at all. ok is false when the row is
// not valid JSON, not an object, or either field would fail its check: the caller then parses the
// row in full and reports its errors. Checking the JSON and finding the members is one walk.
func RowKey(raw json.RawMessage) (id, dataSource string, ok bool) {
	start := skipSpace(raw, 0)
	if start >= len(raw) || raw[start] != '{' {
		return "", "", false
	}
	end, key := objectEndValid(raw, start, 0)
	if end < 0 || skipSpace(raw, end) != len(raw) {
		return "", "", false
	}
	return key.read()
}

// read returns the id and data_source of a row whose key members are k, as RowKey does.
func (k rowKeyText) read() (id, dataSource string, ok bool) {
	if !k.object {
		return "", "", false
	}
	if id, ok = keyText(k.id); !ok {
		return "", "", false
	}
	dataSource, ok = keyText(k.source)
	return id, dataSource, ok
}

// keyText is identifier for a required field that must be valid, without collecting errors.
func keyText(raw []byte) (string, bool) {
	b, state := readText(raw)
	if state != textOK || len(b) > maxIDBytes {
		return "", false
	}
	return string(b), true
}
