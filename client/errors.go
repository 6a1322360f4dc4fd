package client

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// APIError is an answer of the whole request that was not a success: SPEC 3's problem document.
type APIError struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

func (e *APIError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Detail)
}

// problem reads an error answer; a body that is not a problem document still gives its status.
func problem(res *response) *APIError {
	e := &APIError{}
	_ = json.Unmarshal(res.body, e) // best effort: the status below is what counts
	e.Status = res.status
	return e
}
