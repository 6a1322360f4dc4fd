package validation

import "encoding/json"

// RowKey returns a row's id and data_source exactly as the full parse (ParseCustomer, ParsePlan,
// ParseInvoice) returns them for a valid row, checking nothing else. It lets a caller find the
// stored row before deciding whether the rest needs parsing at all. ok is false when the row is
// not valid JSON (checked unless knownValid), not an object, or either field would fail its check:
// the caller then parses the row in full and reports its errors.
func RowKey(raw json.RawMessage, knownValid bool) (id, dataSource string, ok bool) {
	m, errs := openRow(raw, knownValid)
	if errs != nil {
		return "", "", false
	}
	var rawID, rawSource []byte
	for m.next() { // the last of two members with one name wins, as in the full parse
		switch string(m.key) {
		case "id":
			rawID = m.value
		case "data_source":
			rawSource = m.value
		}
	}
	id, ok = keyText(rawID)
	if !ok {
		return "", "", false
	}
	dataSource, ok = keyText(rawSource)
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
