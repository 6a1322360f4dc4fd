package validation

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// timestampCases are tricky inputs with the answer time.Parse gives (want, as RFC 3339 in UTC,
// "" for a refusal).
var timestampCases = []struct {
	in   string
	want string
}{
	// Dates.
	{"2024-07-01", "2024-07-01T00:00:00Z"},
	{"2024-02-29", "2024-02-29T00:00:00Z"},
	{"2000-02-29", "2000-02-29T00:00:00Z"},
	{"2023-02-29", ""},
	{"1900-02-29", ""},
	{"2024-04-31", ""},
	{"2024-12-31", "2024-12-31T00:00:00Z"},
	{"2024-13-01", ""},
	{"2024-00-10", ""},
	{"2024-01-00", ""},
	{"0000-01-01", ""}, // year 0 parses, but is out of range
	{"0001-01-01", "0001-01-01T00:00:00Z"},
	{"9999-12-31", "9999-12-31T00:00:00Z"},
	{"10000-01-01", ""},
	{"2024-7-01", ""},
	{"2024-07-1", ""},
	{"2024/07/01", ""},
	{"+024-07-01", ""},
	{"-024-07-01", ""},
	{"2024-+7-01", ""},
	{"2024-07-+1", ""},
	{" 2024-07-01", ""},
	{"2024-07-01 ", ""},
	{"２０２４-07-01", ""},
	{"", ""},

	// Date and time.
	{"2024-07-01T00:00:00Z", "2024-07-01T00:00:00Z"},
	{"2024-07-01t00:00:00z", "2024-07-01T00:00:00Z"},
	{"2024-07-01T00:00:00z", "2024-07-01T00:00:00Z"},
	{"2024-07-01T23:59:59Z", "2024-07-01T23:59:59Z"},
	{"2024-07-01T24:00:00Z", ""},
	{"2024-07-01T23:60:00Z", ""},
	{"2016-12-31T23:59:60Z", ""}, // leap seconds are refused
	{"2024-02-30T00:00:00Z", ""},
	{"2024-07-01T1:00:00Z", "2024-07-01T01:00:00Z"}, // time.Parse takes a one-digit hour
	{"2024-07-01T01:0:00Z", ""},
	{"2024-07-01T01:00:0Z", ""},
	{"2024-07-01 00:00:00Z", ""},
	{"2024-07-01T00:00:00", ""},
	{"2024-07-01T00:00:00ZZ", ""},
	{"2024-07-01T00:00:00 Z", ""},
	{"2024-07-01T00:00Z", ""},
	{"2024-07-01TT00:00:00Z", ""},

	// Fractions: time.Parse reads nine digits at most and ignores the rest; we keep microseconds.
	{"2024-07-01T00:00:00.5Z", "2024-07-01T00:00:00.5Z"},
	{"2024-07-01T12:34:56.789123Z", "2024-07-01T12:34:56.789123Z"},
	{"2024-07-01T12:34:56.7891239Z", "2024-07-01T12:34:56.789123Z"},
	{"2024-07-01T00:00:00.123456789Z", "2024-07-01T00:00:00.123456Z"},
	{"2024-07-01T00:00:00.999999999Z", "2024-07-01T00:00:00.999999Z"},
	{"2024-07-01T00:00:00.000000001Z", "2024-07-01T00:00:00Z"},
	{"2024-07-01T00:00:00.1234567899999999Z", "2024-07-01T00:00:00.123456Z"},
	{"2024-07-01T00:00:00.0000009z", "2024-07-01T00:00:00Z"},
	{"2024-07-01T00:00:00." + strings.Repeat("9", 43) + "Z", "2024-07-01T00:00:00.999999Z"}, // 64 bytes
	{"2024-07-01T00:00:00." + strings.Repeat("9", 44) + "Z", ""},                            // 65 bytes
	{"2024-07-01T00:00:00.Z", ""},
	{"2024-07-01T00:00:00.5", ""},
	{"2024-07-01T00:00:00..5Z", ""},
	{"2024-07-01T00:00:00.5.5Z", ""},
	{"2024-07-01T00:00:00,5Z", "2024-07-01T00:00:00.5Z"}, // time.Parse takes a comma too
	{"2024-07-01T00:00:00.-5Z", ""},
	{"2024-07-01T00:00:00.+5Z", ""},

	// Offsets.
	{"2024-07-01T00:00:00+02:00", "2024-06-30T22:00:00Z"},
	{"2024-07-01T00:00:00-02:30", "2024-07-01T02:30:00Z"},
	{"2024-07-01t00:00:00.25-02:30", "2024-07-01T02:30:00.25Z"},
	{"2024-07-01T00:00:00+00:00", "2024-07-01T00:00:00Z"},
	{"2024-07-01T00:00:00-00:00", "2024-07-01T00:00:00Z"},
	{"2024-07-01T00:00:00+23:59", "2024-06-30T00:01:00Z"},
	{"2024-07-01T00:00:00+24:00", ""}, // time.Parse allows 24 hours, RFC 3339 does not
	{"2024-07-01T00:00:00-24:00", ""},
	{"2024-07-01T00:00:00+00:60", ""}, // nor 60 minutes
	{"2024-07-01T00:00:00+23:60", ""},
	{"2024-07-01T00:00:00+24:60", ""},
	{"2024-07-01T00:00:00+23:59", "2024-06-30T00:01:00Z"},
	{"2024-07-01T00:00:00-23:59", "2024-07-01T23:59:00Z"},
	{"2024-07-01T00:00:00+25:00", ""},
	{"2024-07-01T00:00:00+00:61", ""},
	{"2024-07-01T00:00:00+99:99", ""},
	{"2024-07-01T00:00:00+0200", ""},
	{"2024-07-01T00:00:00+02", ""},
	{"2024-07-01T00:00:00+2:00", ""},
	{"2024-07-01T00:00:00+02:0", ""},
	{"2024-07-01T00:00:00+02:00:00", ""},
	{"2024-07-01T00:00:00+-2:00", ""},
	{"2024-07-01T00:00:00+02-00", ""},
	{"2024-07-01T00:00:00 02:00", ""},
	{"2024-07-01T00:00:00Z02:00", ""},
	{"2024-07-01T00:00:00Z+02:00", ""},
	{"2024-07-01T00:00:00\u221202:00", ""}, // a minus sign, not a hyphen

	// The year range is checked in UTC, after the offset.
	{"0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"},
	{"0001-01-01T00:00:00+00:01", ""},
	{"0001-01-01T00:00:00-00:01", "0001-01-01T00:01:00Z"},
	{"0000-12-31T23:00:00-01:00", "0001-01-01T00:00:00Z"},
	{"0000-12-31T23:00:00-00:59", ""},
	{"0000-02-29T00:00:00Z", ""},
	{"9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999Z"},
	{"9999-12-31T23:59:59-00:01", ""},
	{"9999-12-31T23:00:00+01:00", "9999-12-31T22:00:00Z"},
}

func TestParseTimestamp(t *testing.T) {
	for _, c := range timestampCases {
		checkTimestamp(t, c.in, c.want)
	}
}

// checkTimestamp fails unless ParseTimestamp(in) answers want ("" for a refusal) and keeps the
// properties every accepted timestamp has (see checkTimestampProperties).
func checkTimestamp(t *testing.T, in, want string) {
	t.Helper()
	got, ok := ParseTimestamp(in)
	gotText := ""
	if ok {
		gotText = got.Format(time.RFC3339Nano)
	}
	if gotText != want || ok != (want != "") {
		t.Fatalf("ParseTimestamp(%q) = %q, %v; want %q", in, gotText, ok, want)
	}
	checkTimestampProperties(t, in)
}

// checkTimestampProperties fails unless ParseTimestamp answers the same whatever the case of "T"
// and "Z", and an accepted timestamp is UTC, whole microseconds, in years 1 to 9999, the instant
// time.Parse reads, and written back as RFC 3339 parses to itself. == on time.Time also compares
// the location and the internal encoding, not only the instant.
func checkTimestampProperties(t *testing.T, in string) {
	t.Helper()
	got, ok := ParseTimestamp(in)
	upper := strings.NewReplacer("t", "T", "z", "Z").Replace(in)
	lower := strings.NewReplacer("T", "t", "Z", "z").Replace(in)
	for _, v := range []string{upper, lower} {
		if got2, ok2 := ParseTimestamp(v); ok2 != ok || got2 != got {
			t.Fatalf("ParseTimestamp(%q) = %v, %v but ParseTimestamp(%q) = %v, %v", in, got, ok, v, got2, ok2)
		}
	}
	if !ok {
		return
	}
	if got.Location() != time.UTC || got.Nanosecond()%1000 != 0 || got.Year() < 1 || got.Year() > 9999 {
		t.Fatalf("ParseTimestamp(%q) = %v: not UTC, whole microseconds, years 1 to 9999", in, got)
	}
	layout := time.RFC3339Nano
	if len(in) == len(time.DateOnly) {
		layout = time.DateOnly
	}
	ref, err := time.Parse(layout, upper)
	if err != nil || !ref.Truncate(time.Microsecond).Equal(got) {
		t.Fatalf("ParseTimestamp(%q) = %v; time.Parse gives %v, %v", in, got, ref, err)
	}
	if back, ok := ParseTimestamp(got.Format(time.RFC3339Nano)); !ok || back != got {
		t.Fatalf("ParseTimestamp(%q) = %v, which does not parse back (%v, %v)", in, got, back, ok)
	}
}

// FuzzParseTimestamp checks the properties of checkTimestampProperties on any input.
func FuzzParseTimestamp(f *testing.F) {
	for _, c := range timestampCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkTimestampProperties(t, in)
	})
}

// BenchmarkParseTimestamp parses the shapes of benchInvoice, a fraction and a lower-case one.
func BenchmarkParseTimestamp(b *testing.B) {
	shapes := []struct{ name, in string }{
		{"utc", "2024-07-01T00:00:00Z"},
		{"offset", "2024-07-01T00:00:00+02:00"},
		{"date", "2024-08-01"},
		{"fraction", "2024-07-01T12:34:56.789123Z"},
		{"lower", "2024-07-01t00:00:00z"},
	}
	for _, s := range shapes {
		b.Run("shape="+s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := ParseTimestamp(s.in); !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}

// TestParseTimestampSweep goes over every two-digit field value around the range limits, where
// random fuzzing rarely lands, and computes the answer independently with time.Date: all months
// and days of leap and common years, every hour, minute and second up to and past their limits,
// and every offset (RFC 3339 allows up to 23 hours and 59 minutes; time.Parse would take 24 and 60).
func TestParseTimestampSweep(t *testing.T) {
	two := func(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }
	// want formats the expected instant, or "" when it is out of range or invalid.
	want := func(valid bool, at time.Time) string {
		if !valid || at.Year() < 1 || at.Year() > 9999 {
			return ""
		}
		return at.Format(time.RFC3339Nano)
	}
	for _, year := range []int{0, 1, 4, 100, 1900, 2000, 2023, 2024, 9999} {
		for month := range 14 {
			for day := range 33 {
				valid := month >= 1 && month <= 12 && day >= 1 &&
					day <= time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
				at := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
				date := fmt.Sprintf("%04d-%02d-%02d", year, month, day)
				checkTimestamp(t, date, want(valid, at))
				checkTimestamp(t, date+"T12:00:00Z", want(valid, at.Add(12*time.Hour)))
			}
		}
	}
	for hour := range 26 {
		for minute := range 62 {
			for _, sec := range []int{0, 59, 60, 61, 99} {
				valid := hour <= 23 && minute <= 59 && sec <= 59
				at := time.Date(2024, 7, 1, hour, minute, sec, 0, time.UTC)
				checkTimestamp(t, "2024-07-01T"+two(hour)+":"+two(minute)+":"+two(sec)+"Z", want(valid, at))
			}
		}
	}
	for _, base := range []struct {
		text string
		at   time.Time
	}{
		{"0000-12-31T23:59:59", time.Date(0, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"0001-01-01T00:00:00", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"2024-07-01T00:00:00.5", time.Date(2024, 7, 1, 0, 0, 0, 5e8, time.UTC)},
		{"9999-12-31T23:00:00", time.Date(9999, 12, 31, 23, 0, 0, 0, time.UTC)},
	} {
		for _, sign := range []string{"+", "-"} {
			for hour := range 100 {
				for minute := range 100 {
					offset := time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute
					if sign == "-" {
						offset = -offset
					}
					text := base.text + sign + two(hour) + ":" + two(minute)
					checkTimestamp(t, text, want(hour <= 23 && minute <= 59, base.at.Add(-offset)))
				}
			}
		}
	}
}
