package recalc_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"invoice-ingest/recalc"
)

// TestMonthsAcrossDaylightSaving: local midnights a calendar month apart across a daylight-saving
// change are one hour more or less than a UTC month apart, and still one month (SPEC section 5).
// The instants are the UTC timestamps of those local midnights, as a client would send them.
func TestMonthsAcrossDaylightSaving(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, zone, start, end string // start and end: the local midnights as UTC
	}{
		// CET (+01:00) to CEST (+02:00): the period is an hour short of a UTC month.
		{"Berlin Mar 15 to Apr 15", "Europe/Berlin", "2024-03-14T23:00:00Z", "2024-04-14T22:00:00Z"},
		// EDT (-04:00) to EST (-05:00): the period is an hour longer than a UTC month.
		{"New York Nov 1 to Dec 1", "America/New_York", "2024-11-01T04:00:00Z", "2024-12-01T05:00:00Z"},
		// The month-end anchor across the change: Berlin Mar 1 local is Feb 29 23:00 UTC.
		{"Berlin Mar 1 to Apr 1", "Europe/Berlin", "2024-02-29T23:00:00Z", "2024-03-31T22:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start, end := metricsTime(t, tc.start), metricsTime(t, tc.end)
			if loc, err := time.LoadLocation(tc.zone); err == nil { // the fixture is what it claims
				for _, v := range []time.Time{start, end} {
					h, m, s := v.In(loc).Clock()
					require.Equal(t, [3]int{0, 0, 0}, [3]int{h, m, s}, "%s is not a local midnight in %s", v, tc.zone)
				}
			}
			k, cal := recalc.Months(start, end)
			assert.Equal(t, 1, k)
			assert.True(t, cal)
			assert.Equal(t, int64(9900), recalc.MonthlyCents(9900, start, end))
		})
	}
}

// TestMonthsSlackCrossesMidnight: an hour of slack can move end to another UTC day, even another
// month; the count of months still comes out right.
func TestMonthsSlackCrossesMidnight(t *testing.T) {
	t.Parallel()
	start := metricsTime(t, "2024-01-31T23:30:00Z")
	k, cal := recalc.Months(start, metricsTime(t, "2024-03-01T00:15:00Z")) // Feb 29 23:30 + 45 min
	assert.Equal(t, 1, k)
	assert.True(t, cal)
	k, cal = recalc.Months(start, metricsTime(t, "2024-03-01T00:31:00Z")) // 61 min past it
	assert.Equal(t, 0, k)
	assert.False(t, cal)
}
