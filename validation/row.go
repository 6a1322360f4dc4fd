package validation

import "encoding/json"

// msgMissingDataSource is shared by every entity: data_source is required everywhere.
const msgMissingDataSource = "Missing data source"

// openRow checks that raw is one valid JSON object and starts a walk of its members. Member names
// match exactly (case-sensitive); unknown members are skipped and, as in encoding/json, the last of
// two members with one name wins.
func openRow(raw json.RawMessage) (members, []FieldError) {
	if !json.Valid(raw) {
		return members{}, wholeRow(msgNotJSON)
	}
	start := skipSpace(raw, 0)
	if raw[start] != '{' {
		return members{}, wholeRow(msgNotObject)
	}
	return newMembers(raw, start), nil
}
