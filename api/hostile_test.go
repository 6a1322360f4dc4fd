package api_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

// hostileValues are what an attacker or a broken client puts where an identifier is expected.
var hostileValues = []string{
	"\x00", "a\x00b", "\xff", "a\xffb", "\xed\xa0\x80", // NUL, invalid UTF-8, an encoded surrogate
	`x\ud800`, strings.Repeat("a", 256), strings.Repeat("é", 200), "' OR 1=1 --", "../../etc/passwd",
	"%", "%zz", " ", "\t\n",
}

// hostileQueries are query strings built from hostile values and broken parameters.
func hostileQueries() []string {
	cursor := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	qs := []string{"limit=0", "limit=-1", "limit=99999999999999999999", "limit=1e3", "limit=%00",
		"cursor=!!!", "cursor=" + cursor(`{"i":"\u0000"}`), "cursor=" + cursor(`{"i":"\udfff"}`),
		"cursor=" + cursor(`{"i":"a","d":1e300}`), "cursor=" + cursor(`{"i":"a","d":-9223372036854775808}`),
		"cursor=" + strings.Repeat("A", 5000), "date_from=2024-07-01T00:00:00%2B24:00", "date_to=99999-01-01",
		"archived=maybe", "dry_run=perhaps", "status=%FF", "type=%00", "currency=%FF%FE",
	}
	for _, v := range hostileValues {
		for _, key := range []string{"source", "customer_id", "currency", "type", "cursor"} {
			qs = append(qs, key+"="+url.QueryEscape(v))
		}
	}
	return qs
}

// hostileBodies are request bodies no client should send.
var hostileBodies = []string{
	"", "\x00", "\xff\xfe", "null", "[", "{", "[1,2,3]", `{"name":"a\u0000b"}`, "{\"name\":\"a\xffb\"}",
	`{"name":"x\ud800"}`, `{"name":"` + strings.Repeat("n", 300) + `"}`,
	`[{"id":"x\ud800","data_source":"s","name":"n"}]`, "[{\"id\":\"\x00\",\"data_source\":\"\xff\"}]",
	`{"data":[{"id":"a"}]}`, `[{"id":"a","data_source":"s","type":"subscription","date":"2024-07-01T00:00:00+23:60",
		"amount_cents":1e400,"currency":"usd","start_date":"0000-01-01","end_date":"9999-12-31T23:59:59-23:59"}]`,
}

// Every route the router knows, with hostile path ids, query parameters, bodies, methods and
// content types: never a 5xx. The routes come from the router itself, so a new route is walked
// without changing this test.
func TestHostileInputsNeverAnswer5xx(t *testing.T) {
	t.Parallel()
	e := newEnv(t, noLimits) // thousands of requests: all of them must reach the handlers
	key := e.account("hostile")
	e.do("POST", "/data/data_sources", key, map[string]string{"name": "s"})
	routes := handler(t, e).Routes()
	require.NotEmpty(t, routes)
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	for _, rt := range routes {
		if rt.Method == "HEAD" { // GET's handlers; HEAD is among the methods sent to every path
			continue
		}
		for _, id := range append(hostileValues, "fine") {
			path := strings.ReplaceAll(rt.Path, ":id", url.PathEscape(id))
			for _, q := range hostileQueries() {
				e.requireNo5xx(t, rt.Method, path+"?source=s&"+q, key, "", "application/json")
			}
			for _, m := range methods {
				e.requireNo5xx(t, m, path+"?source=s", key, "", "application/json")
			}
			if rt.Method != "POST" {
				continue
			}
			for _, body := range hostileBodies {
				for _, ct := range []string{"application/json", "APPLICATION/JSON; charset=utf-8", "application/x-ndjson", "text/plain", ""} {
					e.requireNo5xx(t, rt.Method, path+"?source=s", key, body, ct)
				}
			}
		}
	}
}

// handler returns the router of a fresh server over e's database.
func handler(t *testing.T, e *env) *gin.Engine {
	t.Helper()
	h, ok := e.handler.(*gin.Engine)
	require.True(t, ok, "the API handler is a *gin.Engine")
	return h
}

// requireNo5xx sends one request straight to the handler (no network, so thousands stay cheap).
func (e *env) requireNo5xx(t *testing.T, method, target, key, body, contentType string) {
	t.Helper()
	req := httptest.NewRequest(method, "/", strings.NewReader(body))
	req.URL.Path, req.URL.RawPath, req.URL.RawQuery = "", "", ""
	u, err := url.Parse(target)
	if err != nil {
		u = &url.URL{Path: target}
	}
	req.URL, req.RequestURI = u, target
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	require.Less(t, rec.Code, http.StatusInternalServerError, "%s %q with body %q (%s): %s", method, target, body, contentType, rec.Body.String())
}

// FuzzPathAndQuery sends any path and query to the router: never a 5xx.
func FuzzPathAndQuery(f *testing.F) {
	for _, q := range hostileQueries()[:10] {
		f.Add("/data/invoices", "source=s&"+q)
	}
	for _, v := range hostileValues {
		f.Add("/data/invoices/"+url.PathEscape(v), "source="+url.QueryEscape(v))
		f.Add("/data/customers/"+v, "source=s&cursor="+v)
	}
	e := newEnv(f, noLimits)
	key := e.account("fuzz")
	e.do("POST", "/data/data_sources", key, map[string]string{"name": "s"})
	f.Fuzz(func(t *testing.T, path, query string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		for _, m := range []string{"GET", "DELETE", "POST"} {
			e.requireNo5xx(t, m, path+"?"+query, key, "", "application/json")
		}
	})
}
