package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/config"
)

// TestOpenAPIDocumentIsValid checks the document against the OpenAPI 3.1 meta-schema.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc, err := libopenapi.NewDocument(api.OpenAPI())
	require.NoError(t, err)
	ok, errs := schema_validation.ValidateOpenAPIDocument(doc)
	require.True(t, ok, "%v", messages(errs))
}

// TestOpenAPIServed checks GET /openapi.json: no key needed, JSON, the embedded document.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	r := e.do(http.MethodGet, "/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	require.JSONEq(t, string(api.OpenAPI()), string(r.Body))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &doc))
	require.Equal(t, "3.1.0", doc["openapi"])
}

// TestOpenAPICoversRoutes fails when a route of the router has no operation in the document, or
// the document has an operation the router lacks.
func TestOpenAPICoversRoutes(t *testing.T) {
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	s := &api.Server{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	engine, ok := s.Handler().(*gin.Engine)
	require.True(t, ok, "Server.Handler is no longer a *gin.Engine: find its routes another way")

	var routed []string
	for _, r := range engine.Routes() {
		routed = append(routed, r.Method+" "+ginToOpenAPI(r.Path))
	}
	documented := documentedOperations(t)
	slices.Sort(routed)
	slices.Sort(documented)
	for _, r := range routed {
		require.Contains(t, documented, r, "route of the router without an operation in api/openapi.yaml")
	}
	for _, d := range documented {
		require.Contains(t, routed, d, "operation in api/openapi.yaml that the router does not serve")
	}
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// ginToOpenAPI writes a gin path (/invoices/:id) as an OpenAPI one (/invoices/{id}).
func ginToOpenAPI(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

// documentedOperations lists the document's operations as "METHOD /path".
func documentedOperations(t *testing.T) []string {
	t.Helper()
	c, err := theContract()
	require.NoError(t, err)
	var out []string
	for path, item := range c.doc.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	require.NotEmpty(t, out)
	return out
}
