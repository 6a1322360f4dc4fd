package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/goccy/go-yaml"
)

// openAPIYAML is the OpenAPI 3.1 document of this API, written by hand: api/openapi.yaml.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// openAPIJSON is openAPIYAML converted to JSON (keys in document order) the first time it is
// needed: building the API's handler does, so `serve` converts it at start; the commands that
// serve no API (`worker`, the CLI) never pay the 55 ms and 12 MB the conversion takes.
var openAPIJSON = sync.OnceValue(func() []byte { return mustYAMLToJSON(openAPIYAML) })

// OpenAPI returns the OpenAPI document of this API as JSON, as GET /openapi.json serves it.
// The caller must not modify it.
func OpenAPI() []byte { return openAPIJSON() }

// serveOpenAPI returns the handler of GET /openapi.json (no authentication), converting the
// document now.
func serveOpenAPI() gin.HandlerFunc {
	doc := OpenAPI()
	return func(c *gin.Context) { c.Data(http.StatusOK, "application/json", doc) }
}

// mustYAMLToJSON converts the embedded document; it panics on a broken document, which the
// package's tests (and any start of `serve`) catch at once.
func mustYAMLToJSON(y []byte) []byte {
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		panic(fmt.Sprintf("api/openapi.yaml: %v", err))
	}
	var out bytes.Buffer
	if err := json.Compact(&out, j); err != nil {
		panic(fmt.Sprintf("api/openapi.yaml: not JSON once converted: %v", err))
	}
	return out.Bytes()
}
