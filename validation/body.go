package validation

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrBody is returned, wrapped with a short explanation for the client, when a request body is not
// a JSON object or array (SPEC section 4: such a body answers 400).
var ErrBody = errors.New("invalid request body")

// ErrTooManyRows is returned, wrapped, by DecodeBody when an array holds more rows than
// allowed (SPEC section 4: more than INGEST_MAX_ROWS rows answers 413).
var ErrTooManyRows = errors.New("too many rows")

// DecodeBody splits a JSON request body into rows known to be valid JSON: a JSON object is one
// row, a JSON array is its elements, each kept whatever its JSON type so that a non-object element
// becomes a row error later. The rows are sub-slices of body, not copies. Anything else (invalid
// JSON, a top-level string, number, boolean or null, trailing garbage) returns an error wrapping
// ErrBody.
//
// An array of more than maxRows elements (maxRows <= 0: no limit) returns an error wrapping
// ErrTooManyRows (once the body is known to be valid JSON); rows past maxRows are checked but not
// kept, so a small body of tiny elements ("[0,0,0,...]": 16 million rows in 32 MiB) cannot make
// the caller allocate a row slice hundreds of times its size.
func DecodeBody(body []byte, maxRows int) (Rows, error) {
	start := skipSpace(body, 0)
	if start == len(body) {
		return Rows{}, fmt.Errorf("%w: body is empty", ErrBody)
	}
	if body[start] == '[' {
		rows, keys, ok, tooMany := splitArray(body, start, maxRows)
		switch {
		case !ok:
			return Rows{}, fmt.Errorf("%w: %s", ErrBody, syntaxProblem(body))
		case tooMany:
			return Rows{}, fmt.Errorf("%w: more than %d", ErrTooManyRows, maxRows)
		}
		return Rows{raw: rows, keys: keys, valid: true}, nil
	}
	if body[start] == '{' {
		end, key := objectEndValid(body, start, 0)
		if end >= 0 && skipSpace(body, end) == len(body) {
			return Rows{raw: []json.RawMessage{body[start:end]}, keys: []rowKeyText{key}, valid: true}, nil
		}
	}
	if !validJSON(body) {
		return Rows{}, fmt.Errorf("%w: %s", ErrBody, syntaxProblem(body))
	}
	return Rows{}, fmt.Errorf("%w: must be a JSON object or an array of objects", ErrBody)
}

// rowsGuess sizes the row slice up front from a typical row of a few hundred bytes, so that a
// large batch does not grow the slice a dozen times.
func rowsGuess(bodyLen, maxRows int) int {
	n := bodyLen/256 + 1
	if maxRows > 0 && n > maxRows {
		n = maxRows
	}
	return n
}

// syntaxProblem explains why body is not valid JSON. Only this failure path runs the decoder
// whose error says what and where; validJSON (like json.Valid) only says yes or no.
func syntaxProblem(body []byte) string {
	var v struct{}
	err := json.Unmarshal(body, &v)
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("not valid JSON: %s (at byte %d)", syntax.Error(), syntax.Offset)
	}
	return "not valid JSON"
}
