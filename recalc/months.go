package recalc

import (
	"math"
	"math/big"
	"math/bits"
	"time"
)

// nanosPerMonth is SPEC's average month, 30.436875 days = 2,629,746 s, in nanoseconds. It is a whole
// number, so the fractional-months division can be done exactly in integers.
const nanosPerMonth = 2_629_746 * uint64(time.Second)

// Months reports months(start, end) as SPEC section 5 defines it: (k, true) when end is start plus
// exactly k >= 1 calendar months, or within one hour of it, else (0, false), meaning the
// 30.436875-day rule applies.
//
// Both instants are taken in UTC. A target day past the end of the target month is clamped to its
// last day (Jan 31 + 1 month = Feb 29 in 2024, Feb 28 in 2023), and when start is the last day of
// its month, end being the last day of the target month also counts (Feb 29 -> Mar 31), because
// billing systems keep renewals on the original end-of-month anchor. The hour of slack covers
// local midnights across a daylight-saving change (Berlin Mar 15 -> Apr 15 is 23:00 -> 22:00 UTC);
// since it can carry end across midnight UTC, the month counts either side of the dates' are tried
// too. A period that is empty or reversed is never calendar.
func Months(start, end time.Time) (k int, calendar bool) {
	start, end = start.UTC(), end.UTC()
	if !end.After(start) {
		return 0, false
	}
	sy, sm, _ := start.Date()
	ey, em, _ := end.Date()
	n := (ey-sy)*12 + int(em) - int(sm)
	for _, k := range [3]int{n, n - 1, n + 1} {
		if k >= 1 && nearMonths(start, end, k) {
			return k, true
		}
	}
	return 0, false
}

// monthSlack is how far end may be from start plus k calendar months and still be k months.
const monthSlack = time.Hour

// nearMonths tells whether end is within monthSlack of start plus k calendar months, by either
// anchor: the clamped day, or the last day when start is the last day of its month.
func nearMonths(start, end time.Time, k int) bool {
	y, m, d := start.Date()
	hh, mm, ss := start.Clock()
	first := time.Date(y, m+time.Month(k), 1, 0, 0, 0, 0, time.UTC) // normalises the year
	ty, tm, _ := first.Date()
	last := daysInMonth(ty, tm)
	days := []int{min(d, last)}
	if d == daysInMonth(y, m) {
		days = append(days, last)
	}
	for _, day := range days {
		target := time.Date(ty, tm, day, hh, mm, ss, start.Nanosecond(), time.UTC)
		if diff := end.Sub(target); diff >= -monthSlack && diff <= monthSlack {
			return true
		}
	}
	return false
}

// daysInMonth counts the days of month m of year y (proleptic Gregorian, as package time).
func daysInMonth(y int, m time.Month) int {
	// Day 0 of the next month normalises to the last day of this one.
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// MonthlyCents returns round(netCents / months(start, end)) with rounding half away from zero, where
// months is as SPEC section 5 defines (see Months). The fractional case is computed exactly, as
// netCents × 2,629,746 s / (end - start), so a result that lands on .5 rounds as written. An empty or
// reversed period yields 0 rather than dividing by zero; a result beyond int64 saturates.
func MonthlyCents(netCents int64, start, end time.Time) int64 {
	if !end.After(start) || netCents == 0 {
		return 0
	}
	neg, abs := splitSign(netCents)
	if k, ok := Months(start, end); ok {
		q, r := abs/uint64(k), abs%uint64(k)
		if r >= uint64(k)-r {
			q++
		}
		return joinSign(neg, q)
	}
	span, fits := spanNanos(start, end)
	if !fits {
		return joinSign(neg, fractionalBig(abs, start, end))
	}
	hi, lo := bits.Mul64(abs, nanosPerMonth)
	if hi >= span {
		// The quotient would not fit in 64 bits, let alone int64.
		return joinSign(neg, math.MaxUint64)
	}
	q, r := bits.Div64(hi, lo, span)
	if r >= span-r && q < math.MaxUint64 {
		q++
	}
	return joinSign(neg, q)
}

// spanNanos returns end - start in nanoseconds (end after start), with fits false when that does not
// fit in a uint64 (about 584 years), where time.Duration would already have saturated.
func spanNanos(start, end time.Time) (span uint64, fits bool) {
	su, eu := start.Unix(), end.Unix()
	secs := eu - su
	if (eu^su)&(eu^secs) < 0 || secs < 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(secs), uint64(time.Second))
	ns := int64(end.Nanosecond()) - int64(start.Nanosecond())
	var c uint64
	if ns >= 0 {
		lo, c = bits.Add64(lo, uint64(ns), 0)
		hi += c
	} else {
		lo, c = bits.Sub64(lo, uint64(-ns), 0)
		hi -= c
	}
	return lo, hi == 0
}

// fractionalBig is the fractional-months rule for spans too long for the 64-bit path; such spans are
// rare enough (end dates centuries away) that allocating here is of no concern.
func fractionalBig(abs uint64, start, end time.Time) uint64 {
	sec := new(big.Int).SetUint64(uint64(time.Second))
	span := new(big.Int).Sub(big.NewInt(end.Unix()), big.NewInt(start.Unix()))
	span.Mul(span, sec)
	span.Add(span, big.NewInt(int64(end.Nanosecond())-int64(start.Nanosecond())))
	num := new(big.Int).SetUint64(abs)
	num.Mul(num, new(big.Int).SetUint64(nanosPerMonth))
	q, r := num.QuoRem(num, span, new(big.Int))
	r.Lsh(r, 1)
	if r.Cmp(span) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsUint64() {
		return math.MaxUint64
	}
	return q.Uint64()
}

// splitSign returns the sign and magnitude of v; the magnitude of math.MinInt64 fits in a uint64.
func splitSign(v int64) (neg bool, abs uint64) {
	if v < 0 {
		return true, uint64(^v) + 1
	}
	return false, uint64(v)
}

// joinSign is the inverse of splitSign, saturating at the int64 bounds.
func joinSign(neg bool, abs uint64) int64 {
	if neg {
		if abs >= 1<<63 {
			return math.MinInt64
		}
		return -int64(abs)
	}
	if abs > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(abs)
}
