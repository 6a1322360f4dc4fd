package api

import (
	"bytes"
	"compress/gzip"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
)

// codeConstants returns the values of the string constants of file whose names start with prefix:
// every error code declared there, including ones added after this test.
func codeConstants(t *testing.T, file, prefix string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	require.NoError(t, err)
	var codes []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if strings.HasPrefix(name.Name, prefix) && ok && lit.Kind == token.STRING {
					v, err := strconv.Unquote(lit.Value)
					require.NoError(t, err)
					codes = append(codes, v)
				}
			}
		}
	}
	return codes
}

func TestEveryCodeHasAStatus(t *testing.T) {
	t.Parallel()
	codes := append(codeConstants(t, "../models/errors.go", "E"), codeConstants(t, "errors.go", "code")...)
	require.GreaterOrEqual(t, len(codes), 12)
	for _, code := range codes {
		status, ok := statusOf[code]
		require.True(t, ok, "code %q has no HTTP status", code)
		require.GreaterOrEqual(t, status, 400, code)
	}
	for code, status := range map[string]int{"method_not_allowed": 405, "rate_limited": 429,
		"idempotency_key_in_use": 409, "idempotency_key_reused": 422} {
		require.Equal(t, status, statusOf[code], code)
	}
}

// recorded runs f on a test context for req and returns what it answered.
func recorded(req *http.Request, f func(c *gin.Context)) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = req
	c.Set(ctxLogger, slog.New(slog.DiscardHandler))
	f(c)
	return w
}

func TestUnknownCodeIs500(t *testing.T) {
	t.Parallel()
	w := recorded(httptest.NewRequest("GET", "/", nil), func(c *gin.Context) {
		writeError(c, models.Errorf("no_such_code", "secret detail"))
	})
	require.Equal(t, http.StatusInternalServerError, w.Code)
	require.Contains(t, w.Body.String(), `"code":"internal"`)
	require.NotContains(t, w.Body.String(), "secret")
	require.Equal(t, http.StatusInternalServerError, newProblem("no_such_code", "x").Status)
}

// brokenBody is an upload cut short: some bytes, then io.ErrUnexpectedEOF.
type brokenBody struct{ sent bool }

func (b *brokenBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, `[{"id":`), nil
	}
	return 0, io.ErrUnexpectedEOF
}

func (b *brokenBody) Close() error { return nil }

// A client's broken upload is its fault (400), not a database outage (503), on both read paths.
func TestBrokenUploadIs400(t *testing.T) {
	t.Parallel()
	s := &Server{}
	s.Config.MaxBodyBytes = 1 << 20
	req := httptest.NewRequest("POST", "/", nil)
	req.Body = &brokenBody{}
	w := recorded(req, func(c *gin.Context) {
		_, err := s.readBody(c, new([]byte))
		require.Error(t, err)
		writeError(c, err)
	})
	require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), "Could not read the request body.")

	req = httptest.NewRequest("POST", "/", nil)
	req.Body = &brokenBody{}
	recorded(req, func(c *gin.Context) {
		_, err := io.ReadAll(orFailing(requestBody(c)))
		code, _ := classify(errors.Join(errBodyRead, err)) // as the NDJSON stream reports it
		require.Equal(t, models.EINVALID, code)
	})
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// A gzip bomb is decompressed to the limit and a byte, no further.
func TestGzipBombStopsAtTheLimit(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write(make([]byte, 16<<20)) // 16 MiB of zeros
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	compressed := b.Len()

	s := &Server{}
	s.Config.MaxBodyBytes = 64 << 10
	body := &countingReader{r: &b}
	req := httptest.NewRequest("POST", "/", nil)
	req.Body = io.NopCloser(body)
	req.Header.Set("Content-Encoding", "gzip")
	recorded(req, func(c *gin.Context) {
		_, err := s.readBody(c, new([]byte))
		require.Equal(t, models.ETOOLARGE, models.ErrorCode(err))
	})
	require.Less(t, body.n, int64(compressed)/2, "read %d of %d compressed bytes", body.n, compressed)
}
