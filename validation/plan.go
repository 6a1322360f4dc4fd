package validation

import (
	"encoding/json"
	"math"
	"strconv"
)

// Plan is a normalised plan row: IntervalUnit is one of day, week, month, year (default month)
// and IntervalCount at least 1 (default 1).
type Plan struct {
	ID, DataSource, Name, IntervalUnit string
	IntervalCount                      int32
}

// planWire holds the JSON text of each plan member the row carries.
type planWire struct {
	id, dataSource, name, intervalUnit, intervalCount []byte
}

// intervalUnits are the values of interval_unit, in the order the message lists them.
var intervalUnits = []string{"day", "week", "month", "year"}

// ParsePlan decodes one raw row, normalises it and checks every rule of SPEC section 4 that needs
// no database. It returns all the row's errors in the order of the SPEC's fields; the returned
// plan holds every field that passed, so ID is set whenever the id is valid.
func ParsePlan(raw json.RawMessage) (Plan, []FieldError) {
	return parsePlan(raw, false)
}

// ParsePlanValidJSON is ParsePlan for a row already known to be valid JSON, such as a row of
// DecodeBody: it skips the JSON check, a large part of the cost of a row. Given invalid
// JSON it returns wrong errors (never panics); use ParsePlan when unsure.
func ParsePlanValidJSON(raw json.RawMessage) (Plan, []FieldError) {
	return parsePlan(raw, true)
}

func parsePlan(raw json.RawMessage, knownValid bool) (Plan, []FieldError) {
	m, errs := openRow(raw, knownValid)
	if errs != nil {
		return Plan{}, errs
	}
	var w planWire
	for m.next() {
		switch string(m.key) {
		case "id":
			w.id = m.value
		case "data_source":
			w.dataSource = m.value
		case "name":
			w.name = m.value
		case "interval_unit":
			w.intervalUnit = m.value
		case "interval_count":
			w.intervalCount = m.value
		}
	}

	// Go evaluates the calls of a composite literal left to right: errors come in field order.
	var e rowErrors
	p := Plan{
		ID:            e.identifier(w.id, "id", "Missing plan ID"),
		DataSource:    e.identifier(w.dataSource, "data_source", msgMissingDataSource),
		Name:          e.freeText(w.name, "name", "Missing plan name"),
		IntervalUnit:  e.intervalUnit(w.intervalUnit),
		IntervalCount: e.intervalCount(w.intervalCount),
	}
	return p, e
}

// intervalUnit reads interval_unit in any case; absent means month.
func (e *rowErrors) intervalUnit(raw []byte) string {
	if _, state := readText(raw); state == textAbsent {
		return "month"
	}
	return e.oneOf(raw, "interval_unit", "", intervalUnits, "day, week, month, year")
}

// intervalCount reads interval_count; absent means 1. It is stored as a 32-bit integer.
func (e *rowErrors) intervalCount(raw []byte) int32 {
	if isAbsent(raw) {
		return 1
	}
	n, ok := integer(raw)
	switch {
	case !ok || n < 1:
		e.invalid("interval_count", "interval_count must be a positive integer")
	case n > math.MaxInt32:
		e.invalid("interval_count", "interval_count must be at most "+strconv.Itoa(math.MaxInt32))
	default:
		return int32(n)
	}
	return 0
}
