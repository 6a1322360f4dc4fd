package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/render"
	"github.com/google/uuid"

	"invoice-ingest/ingest"
)

// Row results are most of every write answer: a 1000-row request answers 1000 of them. Encoding
// them with encoding/json (reflection, through gin.H and an interface, plus a struct, an errors
// slice and a joined message per row) stood out in CPU profiles of the write path.
// They are written by hand instead, into a pooled buffer.

// appendRowResult appends the JSON object of one row result to dst:
//
//	{"index":0,"id":"inv_1","import_status":"error","import_error":"m1; m2","errors":[{"field":"id","code":"invalid","message":"m1"},...]}
//
// id is null when the row had no valid id; import_error (the messages joined by "; ") and errors
// are left out when empty, as is the field of an error. The bytes are exactly what encoding/json
// makes of the rowResult struct in rowresult_json_test.go, which checks it.
func appendRowResult(dst []byte, r ingest.Result) []byte {
	dst = appendRowHead(dst, r)
	dst = append(dst, `,"import_status":`...)
	dst = appendJSONString(dst, string(r.Status))
	return append(appendRowErrors(dst, r), '}')
}

// appendErrorLine appends the start of a row in error's line of GET /data/imports/{id}/errors,
// up to its row member (the reader adds that and the closing brace):
//
//	{"index":0,"id":"inv_1","import_error":"m1","errors":[...]
func appendErrorLine(dst []byte, r ingest.Result) []byte {
	return appendRowErrors(appendRowHead(dst, r), r)
}

// appendRowHead appends {"index":N,"id":ID of a row result.
func appendRowHead(dst []byte, r ingest.Result) []byte {
	dst = append(dst, `{"index":`...)
	dst = strconv.AppendInt(dst, int64(r.Index), 10)
	dst = append(dst, `,"id":`...)
	if r.ID == "" {
		return append(dst, "null"...)
	}
	return appendJSONString(dst, r.ID)
}

// appendRowErrors appends the import_error and errors members of a row result, if it has errors.
func appendRowErrors(dst []byte, r ingest.Result) []byte {
	if len(r.Errors) == 0 {
		return dst
	}
	if len(r.Errors) > 1 || r.Errors[0].Message != "" {
		// Escaping the messages one by one equals escaping their join: the separator is ASCII, so
		// it cannot complete or split a UTF-8 sequence.
		dst = append(dst, `,"import_error":"`...)
		for i, e := range r.Errors {
			if i > 0 {
				dst = append(dst, "; "...)
			}
			dst = appendJSONStringContent(dst, e.Message)
		}
		dst = append(dst, '"')
	}
	dst = append(dst, `,"errors":[`...)
	for i, e := range r.Errors {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		if e.Field != "" {
			dst = append(dst, `"field":`...)
			dst = appendJSONString(dst, e.Field)
			dst = append(dst, ',')
		}
		dst = append(dst, `"code":`...)
		dst = appendJSONString(dst, e.Code)
		dst = append(dst, `,"message":`...)
		dst = appendJSONString(dst, e.Message)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendJSONString appends s as a JSON string, escaped as encoding/json escapes it by default.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendJSONStringContent(dst, s)
	return append(dst, '"')
}

// appendJSONStringContent appends s escaped as encoding/json escapes it, without the quotes.
// Almost every string needs no escaping and is copied as is; the others are left to encoding/json.
func appendJSONStringContent(dst []byte, s string) []byte {
	if isPlainJSON(s) {
		return append(dst, s...)
	}
	q, _ := json.Marshal(s) // a string always marshals
	return append(dst, q[1:len(q)-1]...)
}

// isPlainJSON reports whether encoding/json writes s unchanged between quotes: valid UTF-8 without
// control characters, '"' or '\\', and without what it escapes to be HTML-safe (<, >, &, U+2028,
// U+2029).
func isPlainJSON(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += size
	}
	return true
}

// writeRowResults answers 200 with {"import_id":"<uuid>","result":[...]}, one row result per row,
// byte for byte what result(c, http.StatusOK, ...) wrote for them with encoding/json, with the
// import's id beside them (gin.H sorts its keys, so import_id comes first).
func writeRowResults(c *gin.Context, res []ingest.Result, importID uuid.UUID) {
	buf := answerBuffers.get()
	defer answerBuffers.put(buf)
	*buf = appendRowResults((*buf)[:0], res, importID)
	c.Render(http.StatusOK, encodedJSON(*buf)) // writes b before returning: the buffer can go back
}

// appendRowResults appends the JSON answer of writeRowResults to b.
func appendRowResults(b []byte, res []ingest.Result, importID uuid.UUID) []byte {
	b = append(b, `{"import_id":"`...)
	b = append(b, importID.String()...)
	b = append(b, `","result":[`...)
	for i, r := range res {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRowResult(b, r)
	}
	return append(b, "]}"...)
}

// encodedJSON renders JSON text as gin's c.JSON does: the same Content-Type (unless one is set),
// no Content-Length.
type encodedJSON []byte

func (j encodedJSON) Render(w http.ResponseWriter) error {
	j.WriteContentType(w)
	_, err := w.Write(j)
	return err
}

func (j encodedJSON) WriteContentType(w http.ResponseWriter) { render.JSON{}.WriteContentType(w) }
