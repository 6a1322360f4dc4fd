package validation

import "encoding/json"

// rowKeyText is where a row's id and data_source members are, found while its body was
// validated: the raw JSON values of the last members of those names (nil: none). A row that is
// not an object has none to look for.
type rowKeyText struct {
	id, source []byte
	object     bool
}

// splitArray checks the JSON array that opens at b[open] and is the whole of b (white space
// aside), and splits it into its elements. It is one walk where validJSON, a walk of the elements
// and RowKey for each would be three: for each element that is an object it notes the id and
// data_source members RowKey would find (see Rows.Key). Past maxRows elements (maxRows <= 0: no
// limit) it goes on checking but keeps nothing, and reports tooMany.
func splitArray(b []byte, open, maxRows int) (rows []json.RawMessage, keys []rowKeyText, ok, tooMany bool) {
	n := rowsGuess(len(b), maxRows)
	rows, keys = make([]json.RawMessage, 0, n), make([]rowKeyText, 0, n)
	i := skipSpace(b, open+1)
	if i < len(b) && b[i] == ']' {
		return rows, keys, skipSpace(b, i+1) == len(b), false
	}
	for {
		i = skipSpace(b, i)
		if i >= len(b) {
			return nil, nil, false, false
		}
		start := i
		var key rowKeyText
		if b[i] == '{' {
			i, key = objectEndValid(b, i, 1)
		} else {
			i = valueEndValid(b, i, 1)
		}
		if i < 0 {
			return nil, nil, false, false
		}
		if maxRows > 0 && len(rows) == maxRows {
			tooMany = true
		} else {
			rows, keys = append(rows, b[start:i]), append(keys, key)
		}
		if i = skipSpace(b, i); i >= len(b) {
			return nil, nil, false, false
		}
		switch b[i] {
		case ']':
			return rows, keys, skipSpace(b, i+1) == len(b), tooMany
		case ',':
			i++
		default:
			return nil, nil, false, false
		}
	}
}

// objectEndValid checks the object that opens at b[i], inside depth arrays and objects, and
// returns the index just past it (or -1) and its id and data_source members, as members.next
// reads them: names unescaped and compared exactly, the last of one name winning.
func objectEndValid(b []byte, i, depth int) (int, rowKeyText) {
	key := rowKeyText{object: true}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, key
	}
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return -1, key
		}
		nameEnd, escaped := stringEndEscaped(b, i)
		if nameEnd < 0 {
			return -1, key
		}
		name := b[i+1 : nameEnd-1]
		if escaped { // rare: only such a name pays for decoding
			name = memberName(b[i:nameEnd])
		}
		if i = skipSpace(b, nameEnd); i >= len(b) || b[i] != ':' {
			return -1, key
		}
		start := skipSpace(b, i+1)
		if i = valueEndValid(b, start, depth+1); i < 0 {
			return -1, key
		}
		switch string(name) {
		case "id":
			key.id = b[start:i]
		case "data_source":
			key.source = b[start:i]
		}
		if i = skipSpace(b, i); i >= len(b) {
			return -1, key
		}
		switch b[i] {
		case '}':
			return i + 1, key
		case ',':
			i++
		default:
			return -1, key
		}
	}
}
