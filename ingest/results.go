package ingest

import "invoice-ingest/validation"

// Status is the outcome of one row.
type Status string

// Row outcomes, as SPEC section 4 names them.
const (
	Inserted  Status = "inserted"
	Updated   Status = "updated"
	Unchanged Status = "unchanged"
	Failed    Status = "error"
)

// Result is the outcome of the row at Index of a request. ID is the row's id when it had a valid
// one, else "" (shown as null).
type Result struct {
	Index  int
	ID     string
	Status Status
	Errors []validation.FieldError
}

// results turns rows into the response, in request order.
func results[R any](rows []row[R]) []Result {
	out := make([]Result, len(rows))
	for i := range rows {
		r := &rows[i]
		out[i] = Result{Index: r.index, ID: r.id, Status: r.status, Errors: r.errs}
		if len(r.errs) > 0 {
			out[i].Status = Failed
		}
	}
	return out
}
