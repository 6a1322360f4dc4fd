package validation

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrBody is returned, wrapped with a short explanation for the client, when a request body is not
// a JSON object or array (SPEC section 4: such a body answers 400).
var ErrBody = errors.New("invalid request body")

// ErrTooManyRows is returned, wrapped, by DecodeBodyLimit when an array holds more rows than
// allowed (SPEC section 4: more than INGEST_MAX_ROWS rows answers 413).
var ErrTooManyRows = errors.New("too many rows")

// DecodeBody splits a JSON request body into raw rows: a JSON object is one row, a JSON array is
// its elements, each kept whatever its JSON type so that a non-object element becomes a row error
// later. The rows are sub-slices of body, not copies. Anything else (invalid JSON, a top-level
// string, number, boolean or null, trailing garbage) returns an error wrapping ErrBody.
func DecodeBody(body []byte) ([]json.RawMessage, error) {
	return DecodeBodyLimit(body, 0)
}

// DecodeBodyLimit is DecodeBody that stops with an error wrapping ErrTooManyRows as soon as an
// array turns out to hold more than maxRows elements; maxRows <= 0 means no limit. It exists so
// that a small body of tiny elements ("[0,0,0,...]": 16 million rows in 32 MiB) cannot make the
// caller allocate a row slice hundreds of times the size of the body.
func DecodeBodyLimit(body []byte, maxRows int) ([]json.RawMessage, error) {
	start := skipSpace(body, 0)
	if start == len(body) {
		return nil, fmt.Errorf("%w: body is empty", ErrBody)
	}
	if !validJSON(body) {
		return nil, fmt.Errorf("%w: %s", ErrBody, syntaxProblem(body))
	}
	switch body[start] {
	case '{':
		return []json.RawMessage{body[start:valueEnd(body, start)]}, nil
	case '[':
		rows := make([]json.RawMessage, 0, rowsGuess(len(body), maxRows))
		for m := newMembers(body, start); m.next(); {
			if maxRows > 0 && len(rows) == maxRows {
				return nil, fmt.Errorf("%w: more than %d", ErrTooManyRows, maxRows)
			}
			rows = append(rows, m.value)
		}
		return rows, nil
	default:
		return nil, fmt.Errorf("%w: must be a JSON object or an array of objects", ErrBody)
	}
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
