package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDataSources(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := e.account("sources")
	other := e.account("other")

	first := e.do("POST", "/data/data_sources", key, map[string]string{"name": "stripe"})
	require.Equal(t, http.StatusCreated, first.Status, string(first.Body))
	src := first.JSON(t)["result"].(map[string]any)
	require.Equal(t, "stripe", src["name"])
	require.Regexp(t, `^[0-9a-f-]{36}$`, src["id"])
	require.Regexp(t, `Z$`, src["created_at"])

	again := e.do("POST", "/data/data_sources", key, map[string]string{"name": "stripe"})
	require.Equal(t, http.StatusOK, again.Status)
	require.Equal(t, src, again.JSON(t)["result"], "re-creating returns the existing source")

	require.Equal(t, http.StatusCreated, e.do("POST", "/data/data_sources", key, map[string]string{"name": "chargebee"}).Status)

	list := e.do("GET", "/data/data_sources", key, nil).JSON(t)["result"].(map[string]any)
	require.EqualValues(t, 2, list["count"])
	names := []string{}
	for _, s := range list["list"].([]any) {
		names = append(names, s.(map[string]any)["name"].(string))
	}
	require.Equal(t, []string{"chargebee", "stripe"}, names)

	t.Run("another account sees none of them and may reuse the name", func(t *testing.T) {
		l := e.do("GET", "/data/data_sources", other, nil).JSON(t)["result"].(map[string]any)
		require.EqualValues(t, 0, l["count"])
		r := e.do("POST", "/data/data_sources", other, map[string]string{"name": "stripe"})
		require.Equal(t, http.StatusCreated, r.Status)
		require.NotEqual(t, src["id"], r.JSON(t)["result"].(map[string]any)["id"])
	})

	for _, tc := range []struct{ name, body string }{
		{"not json", `{`}, {"no name", `{}`}, {"name not a string", `{"name": 5}`},
		{"empty name", `{"name": "  "}`}, {"uuid as name", `{"name": "6f1c1f5e-3c4b-4d7a-9d59-0c2b8f0b7a11"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireProblem(t, e.do("POST", "/data/data_sources", key, tc.body), http.StatusBadRequest, "invalid_request")
		})
	}
}
