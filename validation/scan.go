package validation

import (
	"bytes"
	"encoding/json"
)

// The functions here walk the top level of JSON text that has already been validated (by json.Valid,
// or by validJSON, which is differential-fuzzed against it), and hand out sub-slices of it.
// Validating once and then only finding boundaries keeps both DecodeBody and the row parsers free
// of copies and allocations. They must never be given unvalidated text.

// members walks the members of one JSON object or the elements of one JSON array.
type members struct {
	data  []byte
	pos   int
	isObj bool
	// key is the current member's name, unescaped; nil when walking an array.
	key []byte
	// value is the current member's or element's JSON text, without surrounding space.
	value []byte
}

// newMembers starts a walk of the object or array that opens at data[open].
func newMembers(data []byte, open int) members {
	return members{data: data, pos: open + 1, isObj: data[open] == '{'}
}

// next moves to the next member or element and reports whether there is one.
func (m *members) next() bool {
	d := m.data
	i := skipSpace(d, m.pos)
	if i < len(d) && d[i] == ',' {
		i = skipSpace(d, i+1)
	}
	if i >= len(d) || d[i] == '}' || d[i] == ']' {
		m.pos = i
		return false
	}
	// The walk trusts the JSON to be valid (it has been checked, or the caller vouched for it);
	// on anything else it stops early rather than read out of bounds or loop.
	if m.isObj {
		if d[i] != '"' {
			return m.stop()
		}
		end := stringEnd(d, i)
		if end-i < 2 || d[end-1] != '"' {
			return m.stop()
		}
		m.key = memberName(d[i:end])
		i = skipSpace(d, end)
		if i >= len(d) || d[i] != ':' {
			return m.stop()
		}
		i = skipSpace(d, i+1)
	}
	if i >= len(d) {
		return m.stop()
	}
	end := min(valueEnd(d, i), len(d))
	if end <= i || (d[i] == '"' && (end-i < 2 || d[end-1] != '"')) {
		return m.stop()
	}
	m.value = d[i:end]
	m.pos = end
	return true
}

// stop ends the walk.
func (m *members) stop() bool {
	m.pos = len(m.data)
	return false
}

// memberName returns the text of a quoted member name. Names with escapes are rare; only they
// pay for an unescaping decode.
func memberName(quoted []byte) []byte {
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner
	}
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		return inner
	}
	return []byte(s)
}

// skipSpace returns the index of the first byte at or after i that is not JSON white space.
func skipSpace(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just past the JSON string that opens at d[i].
//
// It steps byte by byte on purpose. bytes.IndexByte finds a quote with SIMD and wins on long
// strings taken alone, but a row's strings are short (member names, ids, codes), and this loop is
// small enough to be inlined into its callers, which a version calling IndexByte is not. Measured
// end to end with BenchmarkDecodeBody and BenchmarkParseInvoice, IndexByte versions were slower,
// including variants that loop over the first 16 or 32 bytes first or hand IndexByte 16- or
// 32-byte windows.
func stringEnd(d []byte, i int) int {
	for i++; i < len(d); i++ {
		switch d[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(d)
}

// valueEnd returns the index just past the JSON value that starts at d[i].
func valueEnd(d []byte, i int) int {
	if i >= len(d) {
		return i
	}
	switch d[i] {
	case '"':
		return stringEnd(d, i)
	case '{', '[':
		depth := 0
		for i < len(d) {
			switch d[i] {
			case '"':
				i = stringEnd(d, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(d)
	default: // number, true, false, null
		for i < len(d) {
			switch d[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}
