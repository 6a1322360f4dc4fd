package validation

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Length limits, in bytes of UTF-8: a byte limit also bounds the characters, whatever the
// column type, and costs nothing to check.
const (
	maxIDBytes    = 255  // id, customer_id, plan_id, subscription_id, data_source
	maxTextBytes  = 1000 // name, company
	maxEmailBytes = 254  // the longest address an SMTP path can carry (RFC 5321)
	maxShownBytes = 64   // of an offending value quoted in a message
)

// textState says what a JSON value is when a string is expected.
type textState uint8

const (
	textAbsent    textState = iota // no member, null or "": the client gave nothing
	textOK                         // a usable string
	textNotString                  // a number, boolean, object or array
	textUnclean                    // a string with invalid UTF-8 or a NUL, which PostgreSQL text cannot hold
)

// readText returns the content of the JSON value raw when it is a string. The content aliases raw
// unless the string has escapes, so a caller converts it to string only when it keeps it.
func readText(raw []byte) ([]byte, textState) {
	if isAbsent(raw) {
		return nil, textAbsent
	}
	if raw[0] != '"' || len(raw) < 2 || raw[len(raw)-1] != '"' {
		return nil, textNotString
	}
	inner := raw[1 : len(raw)-1]
	if len(inner) == 0 {
		return nil, textAbsent
	}
	// Escapes are ASCII, so the UTF-8 check of the raw text holds for the decoded text too;
	// checking first also stops the decoder below from silently replacing bad bytes.
	if !utf8.Valid(inner) {
		return nil, textUnclean
	}
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, textOK
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, textNotString
	}
	if s == "" {
		return nil, textAbsent
	}
	if strings.IndexByte(s, 0) >= 0 || loneSurrogate(inner) {
		return nil, textUnclean
	}
	return []byte(s), textOK
}

// loneSurrogate tells whether the escaped JSON string content inner holds a \u escape of a UTF-16
// surrogate that is not half of a pair. encoding/json turns such a half into U+FFFD, so two
// different texts ("x\ud800", "x\udbff") would become the same id.
func loneSurrogate(inner []byte) bool {
	high := false // the previous escape was a high surrogate awaiting its low half
	for i := 0; i < len(inner); i++ {
		if inner[i] != '\\' || i+1 >= len(inner) {
			if high {
				return true
			}
			continue
		}
		if inner[i+1] != 'u' || i+6 > len(inner) {
			if high {
				return true
			}
			i++ // an escape of one character
			continue
		}
		r, err := strconv.ParseUint(string(inner[i+2:i+6]), 16, 32)
		if err != nil {
			return false // not an escape json accepts: the decoder refused it already
		}
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if high {
				return true
			}
			high = true
		case r >= 0xDC00 && r <= 0xDFFF:
			if !high {
				return true
			}
			high = false
		default:
			if high {
				return true
			}
		}
		i += 5
	}
	return high
}

// isAbsent reports whether raw stands for "not given": no member at all, or null.
func isAbsent(raw []byte) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// identifier reads an id-like field (1 to 255 bytes). missing is the message for an absent value;
// "" makes the field optional. It returns "" when the field is absent or broken.
func (e *rowErrors) identifier(raw []byte, field, missing string) string {
	return e.text(raw, field, missing, maxIDBytes, " must be a string of 1 to 255 bytes")
}

// freeText reads a free-text field of at most 1000 bytes, optional when missing is "".
func (e *rowErrors) freeText(raw []byte, field, missing string) string {
	return e.text(raw, field, missing, maxTextBytes, " must be a string of at most 1000 bytes")
}

// text reads a string field of at most limit bytes; shapeRule completes the message of a value
// that is not such a string.
func (e *rowErrors) text(raw []byte, field, missing string, limit int, shapeRule string) string {
	b, state := readText(raw)
	switch state {
	case textAbsent:
		if missing != "" {
			e.required(field, missing)
		}
	case textOK:
		if len(b) <= limit {
			return string(b)
		}
		e.invalid(field, field+shapeRule)
	case textNotString:
		e.invalid(field, field+shapeRule)
	case textUnclean:
		e.invalid(field, field+" must be valid UTF-8 without NUL characters")
	}
	return ""
}

// oneOf reads a field whose value is one of values, matched in any ASCII case and returned as
// the listed spelling (so no string is allocated). It returns "" when absent or broken.
func (e *rowErrors) oneOf(raw []byte, field, missing string, values []string, list string) string {
	b, state := readText(raw)
	if state == textAbsent {
		if missing != "" {
			e.required(field, missing)
		}
		return ""
	}
	if state == textOK {
		for _, v := range values {
			if equalFoldASCII(b, v) {
				return v
			}
		}
	}
	e.invalid(field, "Invalid "+field+" "+shown(raw)+": must be one of "+list)
	return ""
}

// equalFoldASCII reports whether b equals s, ignoring the case of ASCII letters.
func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if upperASCII(b[i]) != upperASCII(s[i]) {
			return false
		}
	}
	return true
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// integer reads raw as a JSON integer literal that fits an int64. A fraction (1.5, 1.0), an
// exponent (1e2), a string ("100") or any other JSON type is refused: SPEC wants a JSON integer,
// and a decoder into json.Number would have taken the string.
func integer(raw []byte) (int64, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil
}

// shown quotes an offending value for a message: a string's content, or any other value's JSON
// text, cut to 64 bytes so that a huge value does not make a huge message.
func shown(raw []byte) string {
	v := raw
	if len(raw) >= 2 && raw[0] == '"' {
		v = raw[1 : len(raw)-1]
		if b, state := readText(raw); state == textOK {
			v = b
		}
	}
	if len(v) <= maxShownBytes {
		return strconv.Quote(string(v))
	}
	cut := maxShownBytes
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return strconv.Quote(string(v[:cut]) + "…")
}
