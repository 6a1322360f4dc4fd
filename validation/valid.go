package validation

// validJSON exists because encoding/json.Valid, run on every request body by DecodeBody, stood
// out in CPU profiles: it steps a state machine through a function pointer for every byte.
// validJSON accepts exactly what json.Valid accepts (RFC 8259 grammar, no UTF-8 check inside
// strings, at most 10000 nested arrays and objects) and is differential-fuzzed against it by
// FuzzValidJSON in valid_test.go. Any change here must keep that fuzz target passing.

// maxNestingDepth is encoding/json's limit on nested arrays and objects (maxNestingDepth in its
// scanner.go): 10000 levels are valid JSON, 10001 are not.
const maxNestingDepth = 10000

// validJSON reports whether b is exactly one JSON value, optionally surrounded by white space, as
// encoding/json.Valid does.
func validJSON(b []byte) bool {
	i := valueEndValid(b, 0, 0)
	return i >= 0 && skipSpace(b, i) == len(b)
}

// valueEndValid checks the JSON value that starts at b[i], after optional white space, and returns
// the index just past it, or -1. depth is how many arrays and objects enclose the value: with
// them, at most maxNestingDepth may be open at once.
//
// It walks b once, without recursion. stack holds the kind ('{' or '[') of every array and object
// still open; the matching closer is that byte + 2 ('}' or ']').
func valueEndValid(b []byte, i, depth int) int {
	var buf [64]byte // enough for any sane body without allocating
	stack := buf[:0]
	for {
		// A value must start at b[i], after white space.
		i = skipSpace(b, i)
		if i >= len(b) {
			return -1
		}
		if c := b[i]; c == '{' || c == '[' {
			if depth+len(stack) == maxNestingDepth {
				return -1
			}
			i = skipSpace(b, i+1)
			if i >= len(b) || b[i] != c+2 {
				// Not empty: go round for the first element, or the first member's value.
				stack = append(stack, c)
				if c == '{' {
					if i = memberValueStart(b, i); i < 0 {
						return -1
					}
				}
				continue
			}
			i++ // an empty array or object is a complete value
		} else if i = scalarEnd(b, i); i < 0 {
			return -1
		}

		// A value ended just before b[i]: close what it completes, until a comma asks for the next.
		for {
			if len(stack) == 0 {
				return i
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return -1
			}
			kind := stack[len(stack)-1]
			if b[i] == kind+2 {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if b[i] != ',' {
				return -1
			}
			i++
			if kind == '{' {
				if i = memberValueStart(b, i); i < 0 {
					return -1
				}
			}
			break
		}
	}
}

// memberValueStart checks the `"name" :` part of an object member from b[i] on, white space
// included, and returns the index just past the colon, or -1.
func memberValueStart(b []byte, i int) int {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = stringEndValid(b, i); i < 0 {
		return -1
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return i + 1
}

// scalarEnd checks the string, number, true, false or null that starts at b[i] and returns the
// index just past it, or -1. What follows is the caller's to check ("01" is the number 0 followed
// by a stray 1).
func scalarEnd(b []byte, i int) int {
	switch c := b[i]; {
	case c == '"':
		return stringEndValid(b, i)
	case c == '-' || ('0' <= c && c <= '9'):
		return numberEnd(b, i)
	case c == 't':
		return literalEnd(b, i, "true")
	case c == 'f':
		return literalEnd(b, i, "false")
	case c == 'n':
		return literalEnd(b, i, "null")
	}
	return -1
}

// literalEnd checks that b holds lit at i and returns the index just past it, or -1.
func literalEnd(b []byte, i int, lit string) int {
	end := i + len(lit)
	if end > len(b) || string(b[i:end]) != lit {
		return -1
	}
	return end
}

// plainInString[c] is true for the bytes that stand for themselves inside a JSON string: all but
// the quote, the backslash and the control characters below 0x20. Bytes of 0x80 and above are
// plain whether or not they form valid UTF-8, as in encoding/json.
var plainInString = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// stringEndValid checks the string whose opening quote is b[i] and returns the index just past
// its closing quote, or -1.
func stringEndValid(b []byte, i int) int {
	end, _ := stringEndEscaped(b, i)
	return end
}

// stringEndEscaped is stringEndValid that also tells whether the string holds an escape, so that
// a caller reading its text knows without looking again.
func stringEndEscaped(b []byte, i int) (end int, escaped bool) {
	i++
	for {
		// Plain bytes are nearly all of a string: skip them in a tight loop, four at a time.
		for i+4 <= len(b) && plainInString[b[i]] && plainInString[b[i+1]] &&
			plainInString[b[i+2]] && plainInString[b[i+3]] {
			i += 4
		}
		for i < len(b) && plainInString[b[i]] {
			i++
		}
		if i >= len(b) {
			return -1, escaped
		}
		switch b[i] {
		case '"':
			return i + 1, escaped
		case '\\':
			if i = escapeEnd(b, i); i < 0 {
				return -1, escaped
			}
			escaped = true
		default: // a control character
			return -1, escaped
		}
	}
}

// escapeEnd checks the escape sequence whose backslash is b[i] and returns the index just past it,
// or -1.
func escapeEnd(b []byte, i int) int {
	if i+1 >= len(b) {
		return -1
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 2
	case 'u':
		if i+6 > len(b) {
			return -1
		}
		for _, h := range b[i+2 : i+6] {
			if !isHex(h) {
				return -1
			}
		}
		return i + 6
	}
	return -1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// numberEnd checks the number that starts at b[i], -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?,
// and returns the index just past it, or -1.
func numberEnd(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digitsEnd(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i = oneOrMoreDigitsEnd(b, i+1); i < 0 {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i = oneOrMoreDigitsEnd(b, i); i < 0 {
			return -1
		}
	}
	return i
}

// digitsEnd returns the index of the first byte from b[i] on that is not a digit.
func digitsEnd(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// oneOrMoreDigitsEnd is digitsEnd that returns -1 when b[i] is not a digit.
func oneOrMoreDigitsEnd(b []byte, i int) int {
	end := digitsEnd(b, i)
	if end == i {
		return -1
	}
	return end
}
