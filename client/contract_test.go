package client_test

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"

	"invoice-ingest/api"
)

// validators are built once per test binary from the document GET /openapi.json serves: full
// checks JSON bodies too, bare skips bodies (NDJSON: one JSON value per line).
var validators = sync.OnceValues(func() ([2]validator.Validator, error) {
	doc, err := libopenapi.NewDocument(api.OpenAPI())
	if err != nil {
		return [2]validator.Validator{}, err
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		return [2]validator.Validator{}, err
	}
	return [2]validator.Validator{validator.NewValidatorFromV3Model(&m.Model),
		validator.NewValidatorFromV3Model(&m.Model, config.WithoutRequestBodyValidation(), config.WithoutResponseBodyValidation())}, nil
})

// contractTransport checks every request the client sends and every answer it reads against
// api/openapi.yaml; the test fails at its end when one departs from it.
type contractTransport struct {
	t         testing.TB
	mu        sync.Mutex
	exchanges int
}

func newContractTransport(t testing.TB) *contractTransport {
	c := &contractTransport{t: t}
	t.Cleanup(func() {
		if c.exchanges == 0 {
			t.Error("openapi: the client sent nothing through the checking transport")
		}
	})
	return c
}

func (c *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var sent []byte
	if req.Body != nil {
		sent, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(sent))
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	c.mu.Lock()
	c.exchanges++
	c.mu.Unlock()
	if res.Header.Get(injected) == "" {
		c.check(req, sent, res, body)
	}
	return res, nil
}

// check validates one exchange: the answer always, the request when it succeeded (an API that
// accepted a request must describe it) and no row of it was refused.
func (c *contractTransport) check(req *http.Request, sent []byte, res *http.Response, body []byte) {
	v, err := validators()
	if err != nil {
		c.t.Errorf("openapi: the document does not load: %v", err)
		return
	}
	pick := v[0]
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt == "application/x-ndjson" {
		pick = v[1]
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(sent))
	resCopy := *res
	resCopy.Body = io.NopCloser(bytes.NewReader(body))
	_, errs := pick.ValidateHttpResponse(r, &resCopy)
	if res.StatusCode < 300 && !bytes.Contains(body, []byte(`"import_status":"error"`)) {
		r.Body = io.NopCloser(bytes.NewReader(sent))
		_, reqErrs := pick.ValidateHttpRequestSync(r)
		errs = append(errs, reqErrs...)
	}
	for _, m := range messages(errs) {
		c.t.Errorf("openapi: %s %s -> %d: %s", req.Method, req.URL.RequestURI(), res.StatusCode, m)
	}
}

func messages(errs []*liberrors.ValidationError) []string {
	var out []string
	for _, e := range errs {
		s := e.Message
		if e.Reason != "" {
			s += ": " + e.Reason
		}
		for _, f := range e.SchemaValidationErrors {
			s += fmt.Sprintf(" [%s: %s]", f.FieldPath, f.Reason)
		}
		out = append(out, strings.TrimSpace(s))
	}
	return out
}
