package validation

import "time"

// maxTimestampBytes bounds a timestamp: RFC 3339 needs at most 35 bytes with nanoseconds, and a
// longer text can only be a long fraction, which is cut to the microsecond anyway. The bound also
// keeps the copy ParseTimestamp makes on the stack.
const maxTimestampBytes = 64

// ParseTimestamp parses a timestamp as SPEC section 3 defines it, for rows and query parameters
// alike: RFC 3339 with any offset (as time.RFC3339Nano parses it), or a bare YYYY-MM-DD meaning
// 00:00 UTC. RFC 3339 allows a lower-case "t" and "z", which the time package refuses, so they are
// upper-cased first.
//
// The result is UTC and truncated to the microsecond PostgreSQL stores, so a re-sent row compares
// equal to the stored one. Its year must be 1 to 9999 once in UTC, the range RFC 3339 output can
// write. ok is false for anything else, including a text over 64 bytes.
func ParseTimestamp(s string) (t time.Time, ok bool) {
	if len(s) > maxTimestampBytes {
		return time.Time{}, false
	}
	var err error
	if len(s) == len(time.DateOnly) {
		t, err = time.Parse(time.DateOnly, s)
	} else {
		t, err = time.Parse(time.RFC3339Nano, upperTZ(s))
	}
	if err != nil || !saneOffset(s) {
		return time.Time{}, false
	}
	t = t.UTC().Truncate(time.Microsecond)
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// saneOffset tells whether the numeric offset ending an RFC 3339 text, if any, is one RFC 3339
// allows: hours 00-23, minutes 00-59. The time package accepts "+24:00" and "+23:60".
func saneOffset(s string) bool {
	if len(s) <= len(time.DateOnly) || (s[len(s)-6] != '+' && s[len(s)-6] != '-') {
		return true // "Z", or a bare date
	}
	off := s[len(s)-5:]
	return off[2] == ':' && off[:2] <= "23" && off[3:] <= "59"
}

// upperTZ returns s with every "t" and "z" upper-cased. Neither letter can stand anywhere else in
// a valid timestamp, so nothing invalid becomes valid.
func upperTZ(s string) string {
	var buf [maxTimestampBytes]byte
	b := buf[:copy(buf[:], s)]
	changed := false
	for i, c := range b {
		if c == 't' || c == 'z' {
			b[i] = c - ('a' - 'A')
			changed = true
		}
	}
	if !changed {
		return s
	}
	return string(b)
}

// timestamp reads a required timestamp field (see ParseTimestamp). ok is false when the field is
// absent or broken.
func (e *rowErrors) timestamp(raw []byte, field string) (t time.Time, ok bool) {
	b, state := readText(raw)
	switch state {
	case textAbsent:
		e.required(field, "Missing "+field)
		return time.Time{}, false
	case textOK:
		if t, ok := ParseTimestamp(string(b)); ok {
			return t, true
		}
	}
	e.invalid(field, "Invalid "+field+" "+shown(raw)+": must be an RFC 3339 timestamp or YYYY-MM-DD")
	return time.Time{}, false
}
