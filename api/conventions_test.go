package api_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"invoice-ingest/config"
)

func TestMethodNotAllowedListsAllow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/data/customers", "GET, HEAD, POST"},
		{"DELETE", "/healthz", "GET, HEAD"},
		{"PATCH", "/data/invoices/x/restore", "POST"},
		{"POST", "/readyz", "GET, HEAD"},
	} {
		r := e.do(tc.method, tc.path, "", nil)
		requireProblem(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
		require.ElementsMatch(t, strings.Split(tc.allow, ", "), strings.Split(r.Header.Get("Allow"), ", "), tc.path)
	}
}

func TestHeadWhereverGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := e.account("head")
	heads := map[string]bool{}
	for _, rt := range handler(t, e).Routes() {
		if rt.Method == "HEAD" {
			heads[rt.Path] = true
		}
	}
	for _, rt := range handler(t, e).Routes() {
		if rt.Method == "GET" {
			require.True(t, heads[rt.Path], "GET %s has no HEAD", rt.Path)
		}
	}
	for _, path := range []string{"/healthz", "/readyz", "/data/data_sources"} {
		r := e.do("HEAD", path, key, nil)
		require.Equal(t, http.StatusOK, r.Status, path)
		require.Empty(t, r.Body, path)
	}
}

func TestUnknownRouteNamesThePath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/data/invocies", "", nil)
	requireProblem(t, r, http.StatusNotFound, "not_found")
	require.Equal(t, "No route /data/invocies.", r.JSON(t)["detail"])

	r = e.do("GET", "/x%FF%00"+strings.Repeat("y", 1000), "", nil)
	requireProblem(t, r, http.StatusNotFound, "not_found")
	detail := r.JSON(t)["detail"].(string)
	require.True(t, utf8.ValidString(detail))
	require.Less(t, len(detail), 250, "cut")
	require.True(t, strings.HasPrefix(detail, "No route /x%FF%00yyy"), detail)
}

func TestContentTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := e.account("types")
	row := `{"id":"c1","data_source":"s","name":"n"}`

	r := e.do("POST", "/data/customers", key, "["+row+"]", "Content-Type", "APPLICATION/JSON; charset=utf-8")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r = e.do("POST", "/data/customers", key, row+"\n", "Content-Type", "Application/X-NDJSON; charset=UTF-8")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Equal(t, "application/x-ndjson", r.Header.Get("Content-Type"), "answered as a stream")

	r = e.do("POST", "/data/customers", key, "["+row+"]", "Content-Type", "text/plain")
	requireProblem(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type")
	require.Equal(t, "Content-Type text/plain is not supported: send application/json or application/x-ndjson.", r.JSON(t)["detail"])

	r = e.do("POST", "/data/data_sources", key, `{"name":"s2"}`, "Content-Type", "text/csv")
	requireProblem(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type")
	require.Equal(t, "Content-Type text/csv is not supported: send application/json.", r.JSON(t)["detail"])
	r = e.do("POST", "/data/data_sources", key, `{"name":"s2"}`, "Content-Type", "Application/Json;charset=utf-8")
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	r = e.do("POST", "/data/data_sources", key, `{"name":"s3"}`, "Content-Type", "")
	require.Equal(t, http.StatusCreated, r.Status, "no type is taken as JSON: %s", r.Body)
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

func TestGzipBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *config.Config) { c.MaxBodyBytes = 64 << 10 })
	key := e.account("gzip")
	row := `{"id":"c1","data_source":"s","name":"n"}`

	r := e.do("POST", "/data/data_sources", key, gzipped(t, `{"name":"s"}`), "Content-Encoding", "gzip")
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	r = e.do("POST", "/data/customers", key, gzipped(t, "["+row+"]"), "Content-Encoding", "GZIP")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Contains(t, string(r.Body), `"import_status":"inserted"`)
	r = e.do("POST", "/data/customers", key, gzipped(t, row+"\n"+row+"\n"), "Content-Type", "application/x-ndjson", "Content-Encoding", "gzip")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Equal(t, 2, strings.Count(string(r.Body), "\n"), string(r.Body))
	r = e.do("POST", "/data/customers", key, "["+row+"]", "Content-Encoding", "identity")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Contains(t, string(r.Body), `"import_status":"unchanged"`, "the row the gzipped body stored")

	// 64 KiB + 1 byte decompressed from about 100 bytes: refused as too large.
	bomb := gzipped(t, "["+strings.Repeat(" ", 64<<10)+"]")
	require.Less(t, len(bomb), 1024)
	requireProblem(t, e.do("POST", "/data/customers", key, bomb, "Content-Encoding", "gzip"), http.StatusRequestEntityTooLarge, "payload_too_large")
	requireProblem(t, e.do("POST", "/data/data_sources", key, bomb, "Content-Encoding", "gzip"), http.StatusRequestEntityTooLarge, "payload_too_large")

	for _, coding := range []string{"deflate", "br", "x-foo", "gzip, gzip"} {
		for _, ct := range []string{"application/json", "application/x-ndjson"} {
			r = e.do("POST", "/data/customers", key, gzipped(t, "["+row+"]"), "Content-Encoding", coding, "Content-Type", ct)
			requireProblem(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type")
		}
		r = e.do("POST", "/data/data_sources", key, `{"name":"s"}`, "Content-Encoding", coding)
		requireProblem(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type")
	}
	r = e.do("POST", "/data/customers", key, "not gzip", "Content-Encoding", "gzip")
	requireProblem(t, r, http.StatusBadRequest, "invalid_request")
	require.Contains(t, r.JSON(t)["detail"], "not valid gzip")
	r = e.do("POST", "/data/customers", key, gzipped(t, "["+row+"]")[:20], "Content-Encoding", "gzip")
	requireProblem(t, r, http.StatusBadRequest, "invalid_request")
}

func TestWrappedBodyHint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := e.account("wrapped")
	for _, body := range []string{
		`{"data":[{"id":"c1","data_source":"s","name":"n"}]}`,
		`{"rows":[{"id":"c1"},{"id":"c2"}]}`,
		`{"customers":[]}`,
	} {
		r := e.do("POST", "/data/customers", key, body)
		requireProblem(t, r, http.StatusBadRequest, "invalid_request")
		require.Contains(t, r.JSON(t)["detail"], "send the array itself", body)
	}
	r := e.do("POST", "/data/customers", key, `{"data":[{"id":"c1"}]}`)
	require.Contains(t, r.JSON(t)["detail"], `"data"`, "names the member")
	// Not wrapped: a row (answered row by row), an object with an array of scalars.
	for _, body := range []string{`{"id":"c1","data_source":"s","name":"n"}`, `{"ids":[1,2]}`} {
		r := e.do("POST", "/data/customers", key, body)
		require.Equal(t, http.StatusOK, r.Status, body)
	}
}

func TestProblemsQuoteTheRequestID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/data/data_sources", "", nil, "X-Request-Id", "my-request-42")
	requireProblem(t, r, http.StatusUnauthorized, "unauthenticated")
	require.Equal(t, "my-request-42", r.JSON(t)["request_id"])
}
