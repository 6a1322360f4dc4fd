package validation

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// MaxIDBytes is the most bytes an identifier may have: ids, customer and plan ids, data source
// names and references.
const MaxIDBytes = maxIDBytes

// Identifier tells whether s can be an identifier: 1 to limit bytes of valid UTF-8 without NUL,
// which is what PostgreSQL text can hold. Every identifier from a client (path ids, query
// parameters, data source names) is checked with it before it reaches the database.
func Identifier(s string, limit int) bool {
	return s != "" && len(s) <= limit && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// ErrName is returned by DecodeName for a body without a usable "name".
var ErrName = errors.New(`body must be a JSON object with "name": a string of 1 to 255 bytes of valid UTF-8 without NUL characters`)

// DecodeName reads the "name" member of a JSON object body, with the rules of a row's text
// fields: invalid UTF-8, NUL and lone surrogates are refused, not replaced.
func DecodeName(body []byte) (string, error) {
	m, errs := openRow(json.RawMessage(body), false)
	if errs != nil {
		return "", ErrName
	}
	var raw []byte
	for m.next() { // the last of two members with one name wins, as in a row
		if string(m.key) == "name" {
			raw = m.value
		}
	}
	b, state := readText(raw)
	if state != textOK || len(b) > maxIDBytes {
		return "", ErrName
	}
	return string(b), nil
}
