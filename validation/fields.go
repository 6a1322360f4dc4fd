package validation

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
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
	if strings.IndexByte(s, 0) >= 0 {
		return nil, textUnclean
	}
	return []byte(s), textOK
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

// timestamp reads a required timestamp field (SPEC section 3): RFC 3339 with any offset, or a bare
// YYYY-MM-DD meaning midnight UTC. ok is false when the field is absent or broken.
func (e *rowErrors) timestamp(raw []byte, field string) (t time.Time, ok bool) {
	b, state := readText(raw)
	switch state {
	case textAbsent:
		e.required(field, "Missing "+field)
		return time.Time{}, false
	case textOK:
		if t, ok := parseTimestamp(b); ok {
			return t, true
		}
	}
	e.invalid(field, "Invalid "+field+" "+shown(raw)+": must be an RFC 3339 timestamp or YYYY-MM-DD")
	return time.Time{}, false
}

// maxTimestampBytes bounds a timestamp: RFC 3339 needs at most 35 bytes with nanoseconds, and a
// longer text can only be a long fraction, which is cut to the microsecond anyway.
const maxTimestampBytes = 64

// parseTimestamp parses b as time.RFC3339Nano or time.DateOnly, with a lower-case "t" and "z"
// allowed as RFC 3339 allows them. The result is UTC, truncated to the microsecond PostgreSQL
// stores, so a re-sent row compares equal to the stored one; its year must be 1 to 9999, the
// range RFC 3339 output can write.
//
// An invoice carries three timestamps. time.Parse does not allocate here, but with the
// conversion to UTC, the truncation and the year check it cost about 60 ns a timestamp; the
// shapes clients send are parsed by hand in about 20 (BenchmarkParseTimestamp). Anything else,
// and every invalid input, goes to parseTimestampSlow, so the answer is always time.Parse's
// (FuzzParseTimestamp and TestParseTimestampSweep check that).
func parseTimestamp(b []byte) (time.Time, bool) {
	if t, ok := parseTimestampFast(b); ok {
		return t, true
	}
	return parseTimestampSlow(b)
}

// parseTimestampFast parses YYYY-MM-DD and YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM), "t" and "z"
// in either case. It reports ok only for a valid timestamp, and then exactly as
// parseTimestampSlow would: !ok means "ask parseTimestampSlow", not "invalid".
func parseTimestampFast(b []byte) (time.Time, bool) {
	if len(b) < len(time.DateOnly) || len(b) > maxTimestampBytes || b[4] != '-' || b[7] != '-' {
		return time.Time{}, false
	}
	year, month, day := digits(b[0:4]), digits(b[5:7]), digits(b[8:10])
	if year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) {
		return time.Time{}, false
	}
	var hour, minute, sec, usec, offsetMinutes int
	if len(b) > len(time.DateOnly) {
		if len(b) < len("2006-01-02T15:04:05Z") || (b[10] != 'T' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
			return time.Time{}, false
		}
		hour, minute, sec = digits(b[11:13]), digits(b[14:16]), digits(b[17:19])
		// Like time.Parse: no leap second 60, no 24:00:00.
		if hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
			return time.Time{}, false
		}
		rest := b[19:]

		// A fraction of any length; only microseconds are kept.
		if len(rest) >= 2 && rest[0] == '.' && isDigit(rest[1]) {
			n := 1
			for ; n < len(rest) && isDigit(rest[n]); n++ {
				if n <= 6 {
					usec = usec*10 + int(rest[n]-'0')
				}
			}
			for i := n; i <= 6; i++ {
				usec *= 10
			}
			rest = rest[n:]
		}

		switch {
		case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
		case len(rest) == len("+07:00") && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
			oh, om := digits(rest[1:3]), digits(rest[4:6])
			// time.Parse takes offsets up to 24:60, not 23:59: its general parser, which it
			// falls back to when its RFC 3339 parser refuses, checks the range with > ("some
			// people do write offsets of 24 hours or 60 minutes"). -00:00 is simply UTC.
			if oh < 0 || oh > 24 || om < 0 || om > 60 {
				return time.Time{}, false
			}
			offsetMinutes = oh*60 + om
			if rest[0] == '-' {
				offsetMinutes = -offsetMinutes
			}
		default:
			return time.Time{}, false
		}
	}
	// time.Date normalises the minutes, which moves the local time to UTC.
	t := time.Date(year, time.Month(month), day, hour, minute-offsetMinutes, sec, usec*1000, time.UTC)
	// An offset (25 hours at most) moves the date by two days at most, so only years 0, 1 and
	// 9999 can end up outside 1 to 9999.
	if year <= 1 || year >= 9999 {
		if y := t.Year(); y < 1 || y > 9999 {
			return time.Time{}, false
		}
	}
	return t, true
}

// parseTimestampSlow is parseTimestamp by time.Parse alone: the reference the fast path is fuzzed
// against, and its fallback for every other shape. RFC 3339 allows a lower-case "t" and "z",
// which the time package refuses, so they are upper-cased in a stack copy first.
func parseTimestampSlow(b []byte) (time.Time, bool) {
	var buf [maxTimestampBytes]byte
	if len(b) > len(buf) {
		return time.Time{}, false
	}
	n := copy(buf[:], b)
	var t time.Time
	var err error
	if n == len(time.DateOnly) {
		t, err = time.Parse(time.DateOnly, string(buf[:n]))
	} else {
		for i, c := range buf[:n] {
			if c == 't' || c == 'z' {
				buf[i] = c - ('a' - 'A')
			}
		}
		t, err = time.Parse(time.RFC3339Nano, string(buf[:n]))
	}
	if err != nil {
		return time.Time{}, false
	}
	t = t.UTC().Truncate(time.Microsecond)
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// digits returns the value of b as a decimal number, or -1 when b holds anything but ASCII digits.
func digits(b []byte) int {
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// daysIn returns the number of days in month (1 to 12) of year, in the proleptic Gregorian
// calendar the time package uses.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
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
