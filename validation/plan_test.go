package validation

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var minimalPlan = []member{{"id", `"plan_123"`}, {"data_source", `"stripe"`}, {"name", `"Pro"`}}

func TestParsePlanValid(t *testing.T) {
	t.Parallel()
	defaults := Plan{ID: "plan_123", DataSource: "stripe", Name: "Pro", IntervalUnit: "month", IntervalCount: 1}
	planWith := func(unit string, count int32) Plan {
		p := defaults
		p.IntervalUnit, p.IntervalCount = unit, count
		return p
	}
	tests := []struct {
		name string
		raw  json.RawMessage
		want Plan
	}{
		{"minimal row takes month and 1", object(minimalPlan), defaults},
		{"interval null takes the defaults", with(minimalPlan, member{"interval_unit", `null`}, member{"interval_count", `null`}), defaults},
		{"interval_unit empty takes month", with(minimalPlan, member{"interval_unit", `""`}), defaults},
		{"yearly", with(minimalPlan, member{"interval_unit", `"year"`}, member{"interval_count", `1`}), planWith("year", 1)},
		{"every 2 weeks", with(minimalPlan, member{"interval_unit", `"week"`}, member{"interval_count", `2`}), planWith("week", 2)},
		{"daily", with(minimalPlan, member{"interval_unit", `"day"`}), planWith("day", 1)},
		{"interval_unit any case stored lower", with(minimalPlan, member{"interval_unit", `"MONTH"`}, member{"interval_count", `3`}),
			planWith("month", 3)},
		{"interval_count largest int32", with(minimalPlan, member{"interval_count", `2147483647`}), planWith("month", 2147483647)},
		{"name kept as given", with(minimalPlan, member{"name", `"  Pro (annual) "`}),
			Plan{ID: "plan_123", DataSource: "stripe", Name: "  Pro (annual) ", IntervalUnit: "month", IntervalCount: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, errs := ParsePlan(tc.raw)
			require.Empty(t, errs)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParsePlanErrors(t *testing.T) {
	t.Parallel()
	unitRule := func(shown string) FieldError {
		return invalid("interval_unit", `Invalid interval_unit `+shown+`: must be one of day, week, month, year`)
	}
	countRule := invalid("interval_count", "interval_count must be a positive integer")
	tests := []struct {
		name string
		raw  json.RawMessage
		want []FieldError
	}{
		{"id absent", with(minimalPlan, member{"id", ""}), []FieldError{required("id", "Missing plan ID")}},
		{"id null", with(minimalPlan, member{"id", `null`}), []FieldError{required("id", "Missing plan ID")}},
		{"id empty", with(minimalPlan, member{"id", `""`}), []FieldError{required("id", "Missing plan ID")}},
		{"id too long", with(minimalPlan, member{"id", `"` + strings.Repeat("p", 256) + `"`}),
			[]FieldError{invalid("id", "id must be a string of 1 to 255 bytes")}},
		{"data_source absent", with(minimalPlan, member{"data_source", ""}),
			[]FieldError{required("data_source", "Missing data source")}},
		{"name absent", with(minimalPlan, member{"name", ""}), []FieldError{required("name", "Missing plan name")}},
		{"name null", with(minimalPlan, member{"name", `null`}), []FieldError{required("name", "Missing plan name")}},
		{"name empty", with(minimalPlan, member{"name", `""`}), []FieldError{required("name", "Missing plan name")}},
		{"name a number", with(minimalPlan, member{"name", `7`}),
			[]FieldError{invalid("name", "name must be a string of at most 1000 bytes")}},
		{"name too long", with(minimalPlan, member{"name", `"` + strings.Repeat("n", 1001) + `"`}),
			[]FieldError{invalid("name", "name must be a string of at most 1000 bytes")}},
		{"interval_unit unknown", with(minimalPlan, member{"interval_unit", `"quarter"`}), []FieldError{unitRule(`"quarter"`)}},
		{"interval_unit plural", with(minimalPlan, member{"interval_unit", `"months"`}), []FieldError{unitRule(`"months"`)}},
		{"interval_unit a number", with(minimalPlan, member{"interval_unit", `30`}), []FieldError{unitRule(`"30"`)}},
		{"interval_count zero", with(minimalPlan, member{"interval_count", `0`}), []FieldError{countRule}},
		{"interval_count negative", with(minimalPlan, member{"interval_count", `-1`}), []FieldError{countRule}},
		{"interval_count fraction", with(minimalPlan, member{"interval_count", `1.5`}), []FieldError{countRule}},
		{"interval_count whole fraction", with(minimalPlan, member{"interval_count", `1.0`}), []FieldError{countRule}},
		{"interval_count exponent", with(minimalPlan, member{"interval_count", `1e2`}), []FieldError{countRule}},
		{"interval_count string", with(minimalPlan, member{"interval_count", `"3"`}), []FieldError{countRule}},
		{"interval_count beyond int64", with(minimalPlan, member{"interval_count", `99999999999999999999`}), []FieldError{countRule}},
		{"interval_count beyond int32", with(minimalPlan, member{"interval_count", `2147483648`}),
			[]FieldError{invalid("interval_count", "interval_count must be at most 2147483647")}},
		{"every field broken in field order", json.RawMessage(
			`{"interval_count":0,"interval_unit":"fortnight","name":"","data_source":"","id":1}`), []FieldError{
			invalid("id", "id must be a string of 1 to 255 bytes"),
			required("data_source", "Missing data source"),
			required("name", "Missing plan name"),
			unitRule(`"fortnight"`),
			countRule,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, errs := ParsePlan(tc.raw)
			require.Equal(t, tc.want, errs)
		})
	}
}

func TestParsePlanKeepsIDOfAnErrorRow(t *testing.T) {
	t.Parallel()
	got, errs := ParsePlan(with(minimalPlan, member{"name", ""}))
	require.Len(t, errs, 1)
	require.Equal(t, "plan_123", got.ID)
}
