package api_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"invoice-ingest/api"
)

// contract validates real exchanges against the document GET /openapi.json serves (api.OpenAPI).
type contract struct {
	doc     *v3.Document
	full    validator.Validator // parameters, bodies, statuses, content types
	bare    validator.Validator // the same without bodies, for NDJSON (one JSON value per line)
	schemas schema_validation.SchemaValidator
	opts    *config.ValidationOptions
	// mu serialises checks: libopenapi renders a schema for validation by writing to the
	// document's shared model (DynamicValue.MarshalYAMLInlineWithContext), which the race
	// detector caught when parallel tests validated at once.
	mu sync.Mutex
}

// theContract is built once per test binary: building the model and compiling schemas is slow.
var theContract = sync.OnceValues(func() (*contract, error) {
	doc, err := libopenapi.NewDocument(api.OpenAPI())
	if err != nil {
		return nil, err
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		return nil, err
	}
	full := validator.NewValidatorFromV3Model(&m.Model)
	bare := validator.NewValidatorFromV3Model(&m.Model, config.WithoutRequestBodyValidation(), config.WithoutResponseBodyValidation())
	return &contract{doc: &m.Model, full: full, bare: bare, schemas: schema_validation.NewSchemaValidator(),
		opts: config.NewValidationOptions()}, nil
})

// checkContract fails t unless the exchange is one the OpenAPI document describes: the answer
// (status, Content-Type, headers it declares, body schema) always; the request (path, query,
// headers, body) when the answer is a success, since a request the API accepted must be one the
// document allows (the bodies of row writes only when no row was refused: the API answers a row
// that breaks the row schema as an error row, not by refusing the request). Paths and methods the
// document lacks must get the answers its NoSuchRoute and WrongMethod responses describe.
//
// req is the request as sent (its body is re-read through GetBody); body is res.Body, read.
// It is called by the harness for every call: see env.do in main_test.go.
func checkContract(t testing.TB, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	c, err := theContract()
	if err != nil {
		t.Fatalf("openapi: the document does not load: %v", err)
	}
	if res.Request != nil { // after redirects, the request that got this answer
		req = res.Request
	}
	if req.Method == http.MethodHead {
		body = nil // a HEAD answer has no body to check
	}
	c.mu.Lock()
	problems := c.check(req, res, body)
	c.mu.Unlock()
	for _, problem := range problems {
		t.Errorf("openapi: %s %s -> %d: %s", req.Method, req.URL.RequestURI(), res.StatusCode, problem)
	}
}

// check returns what in the exchange departs from the document.
func (c *contract) check(req *http.Request, res *http.Response, body []byte) []string {
	item, _, _ := paths.FindPath(req, c.doc, c.opts)
	switch {
	case item == nil:
		return c.checkOutside(res, body, http.StatusNotFound, "NoSuchRoute")
	case item.GetOperations().GetOrZero(strings.ToLower(req.Method)) == nil: // HEAD included
		out := c.checkOutside(res, body, http.StatusMethodNotAllowed, "WrongMethod")
		if res.Header.Get("Allow") == "" {
			out = append(out, "a wrong method's answer has no Allow header")
		}
		return out
	}
	resCopy := *res
	resCopy.Body = io.NopCloser(bytes.NewReader(body))
	var out []string
	if isNDJSON(res.Header.Get("Content-Type")) {
		_, verrs := c.bare.ValidateHttpResponse(req, &resCopy)
		out = append(messages(verrs), c.checkLines(req, res.StatusCode, "response", body)...)
	} else {
		_, verrs := c.full.ValidateHttpResponse(req, &resCopy)
		out = messages(verrs)
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		out = append(out, c.checkRequest(req, body)...)
	}
	return out
}

// checkRequest validates a request the API accepted; answer is what it answered.
func (c *contract) checkRequest(req *http.Request, answer []byte) []string {
	sent, err := requestBody(req)
	if err != nil {
		return []string{err.Error()}
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(sent))
	r.Header.Del("Content-Encoding")
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "" || strings.EqualFold(mt, "application/json") {
		r.Header.Set("Content-Type", "application/json") // no type, or any case of it, is JSON
	}
	rowsRefused := bytes.Contains(answer, []byte(`"import_status":"error"`))
	switch {
	case isNDJSON(req.Header.Get("Content-Type")):
		_, verrs := c.bare.ValidateHttpRequestSync(r)
		out := messages(verrs)
		if !rowsRefused {
			out = append(out, c.checkLines(req, 0, "request", sent)...)
		}
		return out
	case rowsRefused:
		_, verrs := c.bare.ValidateHttpRequestSync(r)
		return messages(verrs)
	default:
		_, verrs := c.full.ValidateHttpRequestSync(r)
		return messages(verrs)
	}
}

// checkOutside checks the answer to a path or method no operation serves against the response
// named in components.responses.
func (c *contract) checkOutside(res *http.Response, body []byte, status int, name string) []string {
	if res.StatusCode != status {
		return []string{fmt.Sprintf("expected %d (components.responses.%s), got %d", status, name, res.StatusCode)}
	}
	resp := c.doc.Components.Responses.GetOrZero(name)
	return c.checkMedia(resp.Content, res.Header.Get("Content-Type"), body, name)
}

// checkLines validates an NDJSON body line by line against the schema of its media type, which
// describes one line: the response's for the given status, or the request body's (status 0).
func (c *contract) checkLines(req *http.Request, status int, what string, body []byte) []string {
	item, _, _ := paths.FindPath(req, c.doc, c.opts)
	op := item.GetOperations().GetOrZero(strings.ToLower(req.Method))
	var media *v3.MediaType
	switch {
	case status == 0 && op.RequestBody != nil:
		media = op.RequestBody.Content.GetOrZero("application/x-ndjson")
	case status != 0:
		if resp := op.Responses.Codes.GetOrZero(strconv.Itoa(status)); resp != nil {
			media = resp.Content.GetOrZero("application/x-ndjson")
		}
	}
	if media == nil || media.Schema == nil {
		return []string{fmt.Sprintf("the document declares no application/x-ndjson %s here", what)}
	}
	return c.linesMatch(media.Schema.Schema(), body, what)
}

// checkMedia validates a JSON body against the schema of its media type in content.
func (c *contract) checkMedia(content interface {
	GetOrZero(string) *v3.MediaType
}, contentType string, body []byte, name string) []string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return []string{fmt.Sprintf("Content-Type %q: %v", contentType, err)}
	}
	media := content.GetOrZero(mt)
	if media == nil {
		return []string{fmt.Sprintf("%s declares no %s body", name, mt)}
	}
	if body == nil || media.Schema == nil {
		return nil
	}
	_, verrs := c.schemas.ValidateSchemaBytes(media.Schema.Schema(), body)
	return messages(verrs)
}

// linesMatch validates each non-blank line of body against schema.
func (c *contract) linesMatch(schema *base.Schema, body []byte, what string) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 8<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			out = append(out, fmt.Sprintf("%s line %d is not JSON: %.100s", what, n, line))
			continue
		}
		_, verrs := c.schemas.ValidateSchemaBytes(schema, line)
		for _, m := range messages(verrs) {
			out = append(out, fmt.Sprintf("%s line %d: %s", what, n, m))
		}
	}
	return out
}

// requestBody returns a fresh copy of what req sent.
func requestBody(req *http.Request) ([]byte, error) {
	if req.GetBody == nil {
		return nil, nil
	}
	rc, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("re-read the request body: %w", err)
	}
	defer rc.Close()
	if !strings.EqualFold(req.Header.Get("Content-Encoding"), "gzip") {
		return io.ReadAll(rc)
	}
	zr, err := gzip.NewReader(rc) // the document describes the decompressed body
	if err != nil {
		return nil, fmt.Errorf("decompress the request body: %w", err)
	}
	return io.ReadAll(zr)
}

func isNDJSON(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/x-ndjson"
}

// messages words validation errors, with the schema's own complaints.
func messages(errs []*liberrors.ValidationError) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		s := e.Message
		if e.Reason != "" {
			s += ": " + e.Reason
		}
		for _, f := range e.SchemaValidationErrors {
			s += fmt.Sprintf(" [%s %s: %s]", f.FieldPath, f.KeywordLocation, f.Reason)
		}
		out = append(out, s)
	}
	return out
}
