package validation

import "encoding/json"

// msgMissingDataSource is shared by every entity: data_source is required everywhere.
const msgMissingDataSource = "Missing data source"

// openRow checks that raw is one valid JSON object (unless the caller knows it is valid JSON) and
// starts a walk of its members. Member names match exactly (case-sensitive); unknown members are
// skipped and, as in encoding/json, the last of two members with one name wins.
func openRow(raw json.RawMessage, knownValid bool) (members, []FieldError) {
	if !knownValid && !validJSON(raw) {
		return members{}, wholeRow(msgNotJSON)
	}
	start := skipSpace(raw, 0)
	if start >= len(raw) || raw[start] != '{' {
		return members{}, wholeRow(msgNotObject)
	}
	return newMembers(raw, start), nil
}
