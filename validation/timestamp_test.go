package validation

import (
	"strings"
	"testing"
	"time"
)

// timestampCases are tricky inputs with the answer time.Parse gives (want, as RFC 3339 in UTC,
// "" for a refusal). fast marks the shapes parseTimestampFast must handle itself, so that a fast
// path that gave up on everything would not pass.
var timestampCases = []struct {
	in   string
	want string
	fast bool
}{
	// Dates.
	{"2024-07-01", "2024-07-01T00:00:00Z", true},
	{"2024-02-29", "2024-02-29T00:00:00Z", true},
	{"2000-02-29", "2000-02-29T00:00:00Z", true},
	{"2023-02-29", "", false},
	{"1900-02-29", "", false},
	{"2024-04-31", "", false},
	{"2024-12-31", "2024-12-31T00:00:00Z", true},
	{"2024-13-01", "", false},
	{"2024-00-10", "", false},
	{"2024-01-00", "", false},
	{"0000-01-01", "", false}, // year 0 parses, but is out of range
	{"0001-01-01", "0001-01-01T00:00:00Z", true},
	{"9999-12-31", "9999-12-31T00:00:00Z", true},
	{"10000-01-01", "", false},
	{"2024-7-01", "", false},
	{"2024-07-1", "", false},
	{"2024/07/01", "", false},
	{"+024-07-01", "", false},
	{"-024-07-01", "", false},
	{"2024-+7-01", "", false},
	{"2024-07-+1", "", false},
	{" 2024-07-01", "", false},
	{"2024-07-01 ", "", false},
	{"２０２４-07-01", "", false},
	{"", "", false},

	// Date and time.
	{"2024-07-01T00:00:00Z", "2024-07-01T00:00:00Z", true},
	{"2024-07-01t00:00:00z", "2024-07-01T00:00:00Z", true},
	{"2024-07-01T00:00:00z", "2024-07-01T00:00:00Z", true},
	{"2024-07-01T23:59:59Z", "2024-07-01T23:59:59Z", true},
	{"2024-07-01T24:00:00Z", "", false},
	{"2024-07-01T23:60:00Z", "", false},
	{"2016-12-31T23:59:60Z", "", false}, // leap seconds are refused
	{"2024-02-30T00:00:00Z", "", false},
	{"2024-07-01T1:00:00Z", "2024-07-01T01:00:00Z", false}, // time.Parse takes a one-digit hour
	{"2024-07-01T01:0:00Z", "", false},
	{"2024-07-01T01:00:0Z", "", false},
	{"2024-07-01 00:00:00Z", "", false},
	{"2024-07-01T00:00:00", "", false},
	{"2024-07-01T00:00:00ZZ", "", false},
	{"2024-07-01T00:00:00 Z", "", false},
	{"2024-07-01T00:00Z", "", false},
	{"2024-07-01TT00:00:00Z", "", false},

	// Fractions: time.Parse reads nine digits at most and ignores the rest; we keep microseconds.
	{"2024-07-01T00:00:00.5Z", "2024-07-01T00:00:00.5Z", true},
	{"2024-07-01T12:34:56.789123Z", "2024-07-01T12:34:56.789123Z", true},
	{"2024-07-01T12:34:56.7891239Z", "2024-07-01T12:34:56.789123Z", true},
	{"2024-07-01T00:00:00.123456789Z", "2024-07-01T00:00:00.123456Z", true},
	{"2024-07-01T00:00:00.999999999Z", "2024-07-01T00:00:00.999999Z", true},
	{"2024-07-01T00:00:00.000000001Z", "2024-07-01T00:00:00Z", true},
	{"2024-07-01T00:00:00.1234567899999999Z", "2024-07-01T00:00:00.123456Z", true},
	{"2024-07-01T00:00:00.0000009z", "2024-07-01T00:00:00Z", true},
	{"2024-07-01T00:00:00." + strings.Repeat("9", 43) + "Z", "2024-07-01T00:00:00.999999Z", true}, // 64 bytes
	{"2024-07-01T00:00:00." + strings.Repeat("9", 44) + "Z", "", false},                           // 65 bytes
	{"2024-07-01T00:00:00.Z", "", false},
	{"2024-07-01T00:00:00.5", "", false},
	{"2024-07-01T00:00:00..5Z", "", false},
	{"2024-07-01T00:00:00.5.5Z", "", false},
	{"2024-07-01T00:00:00,5Z", "2024-07-01T00:00:00.5Z", false}, // time.Parse takes a comma too
	{"2024-07-01T00:00:00.-5Z", "", false},
	{"2024-07-01T00:00:00.+5Z", "", false},

	// Offsets.
	{"2024-07-01T00:00:00+02:00", "2024-06-30T22:00:00Z", true},
	{"2024-07-01T00:00:00-02:30", "2024-07-01T02:30:00Z", true},
	{"2024-07-01t00:00:00.25-02:30", "2024-07-01T02:30:00.25Z", true},
	{"2024-07-01T00:00:00+00:00", "2024-07-01T00:00:00Z", true},
	{"2024-07-01T00:00:00-00:00", "2024-07-01T00:00:00Z", true},
	{"2024-07-01T00:00:00+23:59", "2024-06-30T00:01:00Z", true},
	{"2024-07-01T00:00:00+24:00", "2024-06-30T00:00:00Z", true}, // time.Parse allows 24 hours
	{"2024-07-01T00:00:00-24:00", "2024-07-02T00:00:00Z", true},
	{"2024-07-01T00:00:00+00:60", "2024-06-30T23:00:00Z", true}, // and 60 minutes
	{"2024-07-01T00:00:00+24:60", "2024-06-29T23:00:00Z", true},
	{"2024-07-01T00:00:00+25:00", "", false},
	{"2024-07-01T00:00:00+00:61", "", false},
	{"2024-07-01T00:00:00+99:99", "", false},
	{"2024-07-01T00:00:00+0200", "", false},
	{"2024-07-01T00:00:00+02", "", false},
	{"2024-07-01T00:00:00+2:00", "", false},
	{"2024-07-01T00:00:00+02:0", "", false},
	{"2024-07-01T00:00:00+02:00:00", "", false},
	{"2024-07-01T00:00:00+-2:00", "", false},
	{"2024-07-01T00:00:00+02-00", "", false},
	{"2024-07-01T00:00:00 02:00", "", false},
	{"2024-07-01T00:00:00Z02:00", "", false},
	{"2024-07-01T00:00:00Z+02:00", "", false},
	{"2024-07-01T00:00:00\u221202:00", "", false}, // a minus sign, not a hyphen

	// The year range is checked in UTC, after the offset.
	{"0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z", true},
	{"0001-01-01T00:00:00+00:01", "", false},
	{"0001-01-01T00:00:00-00:01", "0001-01-01T00:01:00Z", true},
	{"0000-12-31T23:00:00-01:00", "0001-01-01T00:00:00Z", true},
	{"0000-12-31T23:00:00-00:59", "", false},
	{"0000-02-29T00:00:00Z", "", false},
	{"9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999Z", true},
	{"9999-12-31T23:59:59-00:01", "", false},
	{"9999-12-31T23:00:00+01:00", "9999-12-31T22:00:00Z", true},
}

func TestParseTimestamp(t *testing.T) {
	for _, c := range timestampCases {
		got, ok := parseTimestamp([]byte(c.in))
		gotText := ""
		if ok {
			gotText = got.Format(time.RFC3339Nano)
		}
		if gotText != c.want || ok != (c.want != "") {
			t.Errorf("parseTimestamp(%q) = %q, %v; want %q", c.in, gotText, ok, c.want)
		}
		if _, fastOK := parseTimestampFast([]byte(c.in)); fastOK != c.fast {
			t.Errorf("parseTimestampFast(%q) ok = %v, want %v", c.in, fastOK, c.fast)
		}
		checkTimestampAgainstReference(t, []byte(c.in))
	}
}

// checkTimestampAgainstReference fails unless parseTimestamp answers exactly as parseTimestampSlow,
// the time.Parse implementation, and the fast path alone never disagrees with it.
func checkTimestampAgainstReference(t *testing.T, b []byte) {
	t.Helper()
	want, wantOK := parseTimestampSlow(b)
	if wantOK && want.Location() != time.UTC {
		t.Fatalf("reference gave a non-UTC time %v for %q", want, b)
	}
	if got, ok := parseTimestamp(b); ok != wantOK || got != want {
		t.Fatalf("parseTimestamp(%q) = %v, %v; time.Parse gives %v, %v", b, got, ok, want, wantOK)
	}
	if got, ok := parseTimestampFast(b); ok && (!wantOK || got != want) {
		t.Fatalf("parseTimestampFast(%q) = %v, true; time.Parse gives %v, %v", b, got, want, wantOK)
	}
}

// FuzzParseTimestamp checks that the hand-written parser agrees with time.Parse on any input; ==
// on time.Time also compares the location and the internal encoding, not only the instant.
func FuzzParseTimestamp(f *testing.F) {
	for _, c := range timestampCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkTimestampAgainstReference(t, b)
	})
}

// BenchmarkParseTimestamp compares time.Parse (impl=reference) with parseTimestamp (impl=fast)
// on the shapes of benchInvoice and a fraction. Compare with: benchstat -col /impl.
func BenchmarkParseTimestamp(b *testing.B) {
	shapes := []struct{ name, in string }{
		{"utc", "2024-07-01T00:00:00Z"},
		{"offset", "2024-07-01T00:00:00+02:00"},
		{"date", "2024-08-01"},
		{"fraction", "2024-07-01T12:34:56.789123Z"},
	}
	impls := []struct {
		name  string
		parse func([]byte) (time.Time, bool)
	}{
		{"reference", parseTimestampSlow},
		{"fast", parseTimestamp},
	}
	for _, s := range shapes {
		in := []byte(s.in)
		for _, impl := range impls {
			b.Run("shape="+s.name+"/impl="+impl.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, ok := impl.parse(in); !ok {
						b.Fatal("refused")
					}
				}
			})
		}
	}
}

// TestParseTimestampSweep compares with time.Parse over every two-digit field value around the
// range limits, where random fuzzing rarely lands: all months and days of leap and common years,
// every hour, minute and second up to and past their limits, and every offset.
func TestParseTimestampSweep(t *testing.T) {
	two := func(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }
	for _, year := range []string{"0000", "0001", "0004", "0100", "1900", "2000", "2023", "2024", "9999"} {
		for month := range 14 {
			for day := range 33 {
				date := year + "-" + two(month) + "-" + two(day)
				checkTimestampAgainstReference(t, []byte(date))
				checkTimestampAgainstReference(t, []byte(date+"T12:00:00Z"))
			}
		}
	}
	for hour := range 26 {
		for minute := range 62 {
			for _, sec := range []int{0, 59, 60, 61, 99} {
				checkTimestampAgainstReference(t, []byte("2024-07-01T"+two(hour)+":"+two(minute)+":"+two(sec)+"Z"))
			}
		}
	}
	for _, dateTime := range []string{"0000-12-31T23:59:59", "0001-01-01T00:00:00", "2024-07-01T00:00:00.5", "9999-12-31T23:00:00"} {
		for _, sign := range []string{"+", "-"} {
			for hour := range 100 {
				for minute := range 100 {
					checkTimestampAgainstReference(t, []byte(dateTime+sign+two(hour)+":"+two(minute)))
				}
			}
		}
	}
}
