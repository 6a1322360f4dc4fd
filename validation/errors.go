package validation

// Error codes of a FieldError; SPEC section 4 lists them for the "errors" array of a row result.
const (
	// CodeRequired marks a required field that is absent, null or "".
	CodeRequired = "required"
	// CodeInvalid marks a field (or a whole row) whose value breaks a rule.
	CodeInvalid = "invalid"
	// CodeNotFound marks a reference to something that does not exist; ingest sets it, as only it
	// can look references up.
	CodeNotFound = "not_found"
	// CodeDuplicate marks a later occurrence of an id already seen in the same request; ingest sets it.
	CodeDuplicate = "duplicate"
)

// FieldError is one problem of one row. Field is the JSON field name ("" for a whole-row problem),
// Code one of the Code constants and Message the text shown to the client, as SPEC section 4 words it.
type FieldError struct {
	Field   string
	Code    string
	Message string
}

// Whole-row messages. A row that is not valid JSON can only reach a Parse function through an
// NDJSON line: DecodeBody refuses a whole body that is not valid JSON.
const (
	msgNotObject = "Row must be a JSON object"
	msgNotJSON   = "Row is not valid JSON"
)

// rowErrors collects the problems of one row in the order its fields are checked. It stays nil
// for a valid row, so a good row costs no allocation here.
type rowErrors []FieldError

func (e *rowErrors) required(field, message string) {
	*e = append(*e, FieldError{Field: field, Code: CodeRequired, Message: message})
}

func (e *rowErrors) invalid(field, message string) {
	*e = append(*e, FieldError{Field: field, Code: CodeInvalid, Message: message})
}

// wholeRow is the single error of a row that cannot be read as an object at all.
func wholeRow(message string) []FieldError {
	return []FieldError{{Field: "", Code: CodeInvalid, Message: message}}
}
