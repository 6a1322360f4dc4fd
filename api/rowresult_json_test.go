package api

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"invoice-ingest/ingest"
	"invoice-ingest/validation"
)

// rowResult and toRowResult are how row results were encoded before appendRowResult (through
// encoding/json): the reference its output must equal byte for byte.
type rowResult struct {
	Index        int          `json:"index"`
	ID           *string      `json:"id"`
	ImportStatus string       `json:"import_status"`
	ImportError  string       `json:"import_error,omitempty"`
	Errors       []fieldError `json:"errors,omitempty"`
}

type fieldError struct {
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func toRowResult(r ingest.Result) rowResult {
	out := rowResult{Index: r.Index, ImportStatus: string(r.Status)}
	if r.ID != "" {
		id := r.ID
		out.ID = &id
	}
	if len(r.Errors) > 0 {
		out.Errors = make([]fieldError, len(r.Errors))
		msg := make([]byte, 0, 64)
		for i, e := range r.Errors {
			out.Errors[i] = fieldError{Field: e.Field, Code: e.Code, Message: e.Message}
			if i > 0 {
				msg = append(msg, "; "...)
			}
			msg = append(msg, e.Message...)
		}
		out.ImportError = string(msg)
	}
	return out
}

// oddStrings need escaping, or look as if they might.
var oddStrings = []string{
	"", "inv_1", `say "hi"`, `back\slash`, "tab\there", "nl\nand\rcr", "\x00nul", "\x1f\x7f",
	"<script>&amp;</script>", "café ünïcödé 日本 🎉", "\xff\xfe invalid", "cut \xe2\x82", "\xe2\x82",
	"line\u2028sep", "para\u2029sep", "\ufffd real replacement char", "é", "\xc3", "a; b", "/slashes/ok",
	`Invalid email "a<b>@x.io": must be a valid email address`,
}

// randomString mixes odd strings and random bytes, so that invalid UTF-8 and escapes fall at
// every position, including at the ends of messages that import_error joins.
func randomString(rng *rand.Rand) string {
	var b []byte
	for range rng.IntN(4) {
		if rng.IntN(3) == 0 {
			b = append(b, oddStrings[rng.IntN(len(oddStrings))]...)
		} else {
			for range rng.IntN(6) {
				b = append(b, byte(rng.IntN(256)))
			}
		}
	}
	return string(b)
}

func randomResult(rng *rand.Rand, index int) ingest.Result {
	statuses := []ingest.Status{ingest.Inserted, ingest.Updated, ingest.Unchanged, ingest.Failed}
	r := ingest.Result{Index: index, Status: statuses[rng.IntN(len(statuses))]}
	if rng.IntN(3) > 0 {
		r.ID = randomString(rng)
	}
	if rng.IntN(2) == 0 {
		r.Errors = []validation.FieldError{} // empty, not nil: still no "errors"
		for range rng.IntN(4) {
			r.Errors = append(r.Errors, validation.FieldError{Field: randomString(rng), Code: randomString(rng), Message: randomString(rng)})
		}
	}
	return r
}

func requireSameAsEncodingJSON(t *testing.T, r ingest.Result) {
	t.Helper()
	want, err := json.Marshal(toRowResult(r))
	require.NoError(t, err)
	require.Equal(t, string(want), string(appendRowResult(nil, r)), "%#v", r)
}

func TestAppendRowResultMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range oddStrings {
		for _, ends := range []string{"", "\xe2", "é", "\\"} { // a message ending mid-sequence, then joined
			requireSameAsEncodingJSON(t, ingest.Result{Index: 7, ID: s, Status: ingest.Failed, Errors: []validation.FieldError{
				{Field: s, Code: s, Message: s + ends}, {Code: "invalid", Message: ends + s}, {Message: ""},
			}})
		}
		requireSameAsEncodingJSON(t, ingest.Result{ID: s, Status: ingest.Status(s)})
		requireSameAsEncodingJSON(t, ingest.Result{Status: ingest.Failed, Errors: []validation.FieldError{{Field: s}}})
	}
	requireSameAsEncodingJSON(t, ingest.Result{Index: -1})
	requireSameAsEncodingJSON(t, tooLongResult())
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		requireSameAsEncodingJSON(t, randomResult(rng, i))
	}
}

func FuzzAppendRowResult(f *testing.F) {
	for _, s := range oddStrings {
		f.Add(s, s, s)
	}
	f.Fuzz(func(t *testing.T, id, field, msg string) {
		requireSameAsEncodingJSON(t, ingest.Result{Index: len(msg), ID: id, Status: ingest.Failed,
			Errors: []validation.FieldError{{Field: field, Code: "invalid", Message: msg}, {Code: id, Message: field}}})
	})
}

// TestWriteRowResultsMatchesGinJSON compares the whole answer, status and headers included, with
// what c.JSON wrote before.
func TestWriteRowResultsMatchesGinJSON(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 1000} {
		res := make([]ingest.Result, n)
		for i := range res {
			res[i] = randomResult(rng, i)
		}
		old := make([]rowResult, n)
		for i, r := range res {
			old[i] = toRowResult(r)
		}
		want := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(want)
		id := uuid.New()
		c.JSON(http.StatusOK, gin.H{"import_id": id, "result": old})
		for range 3 { // a pooled buffer is reused cleanly
			got := httptest.NewRecorder()
			c, _ = gin.CreateTestContext(got)
			writeRowResults(c, res, id)
			require.Equal(t, want.Code, got.Code)
			require.Equal(t, want.Header(), got.Header())
			require.Equal(t, want.Body.String(), got.Body.String(), "%d rows", n)
		}
	}
}

// benchResults is a 1000-row answer: most rows fine, some with errors.
func benchResults() []ingest.Result {
	res := make([]ingest.Result, 1000)
	for i := range res {
		res[i] = ingest.Result{Index: i, ID: fmt.Sprintf("inv_%d", i), Status: ingest.Unchanged}
		if i%10 == 0 {
			res[i].Status = ingest.Failed
			res[i].Errors = []validation.FieldError{{Field: "customer_id", Code: validation.CodeNotFound,
				Message: fmt.Sprintf("Customer ID cus_%d does not exist", i)}}
		}
	}
	return res
}

// BenchmarkRowResults encodes a 1000-row answer the old way and the new way.
func BenchmarkRowResults(b *testing.B) {
	res := benchResults()
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out := make([]rowResult, len(res))
			for i, r := range res {
				out[i] = toRowResult(r)
			}
			if _, err := json.Marshal(gin.H{"result": out}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf := answerBuffers.get()
			*buf = append(*buf, `{"result":[`...)
			for i, r := range res {
				if i > 0 {
					*buf = append(*buf, ',')
				}
				*buf = appendRowResult(*buf, r)
			}
			*buf = append(*buf, "]}"...)
			answerBuffers.put(buf)
		}
	})
}
