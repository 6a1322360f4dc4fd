package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestArchiveAndRestore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := newTenant(t, e, "archive")
	requireStatuses(t, e.do("POST", "/data/invoices", tn.key, bulkExample), "inserted", "inserted")
	listIDs := func(query string) []string {
		r := e.do("GET", "/data/invoices?source=stripe"+query, tn.key, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var ids []string
		for _, v := range r.JSON(t)["result"].(map[string]any)["list"].([]any) {
			ids = append(ids, v.(map[string]any)["id"].(string))
		}
		return ids
	}
	e.drain(tn)

	r := e.do("DELETE", "/data/invoices/inv_001?source=stripe", tn.key, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	inv := r.JSON(t)["result"].(map[string]any)
	require.Equal(t, "inv_001", inv["id"])
	require.Regexp(t, `Z$`, inv["archived_at"])
	require.Equal(t, []string{"cus_123"}, e.queued(tn), "archiving queues the customer")
	require.Equal(t, []string{"inv_002"}, listIDs(""), "hidden from the default list")
	require.Equal(t, []string{"inv_001"}, listIDs("&archived=true"))
	require.Equal(t, http.StatusOK, e.do("GET", "/data/invoices/inv_001?source=stripe", tn.key, nil).Status, "still readable alone")

	e.drain(tn)
	r = e.do("DELETE", "/data/invoices/inv_001?source=stripe", tn.key, nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, inv["archived_at"], r.JSON(t)["result"].(map[string]any)["archived_at"], "archiving twice changes nothing")
	require.Empty(t, e.queued(tn), "archiving twice queues nothing")

	r = e.do("POST", "/data/invoices/inv_001/restore?source=stripe", tn.key, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.NotContains(t, r.JSON(t)["result"], "archived_at")
	require.Equal(t, []string{"cus_123"}, e.queued(tn), "restoring queues the customer")
	require.Equal(t, []string{"inv_002", "inv_001"}, listIDs(""))

	t.Run("upserting an archived invoice restores it as updated", func(t *testing.T) {
		require.Equal(t, http.StatusOK, e.do("DELETE", "/data/invoices/inv_002?source=stripe", tn.key, nil).Status)
		requireStatuses(t, e.do("POST", "/data/invoices", tn.key, bulkExample), "unchanged", "updated")
		require.Empty(t, listIDs("&archived=true"))
	})

	t.Run("not found", func(t *testing.T) {
		requireProblem(t, e.do("DELETE", "/data/invoices/nope?source=stripe", tn.key, nil), 404, "not_found")
		requireProblem(t, e.do("POST", "/data/invoices/nope/restore?source=stripe", tn.key, nil), 404, "not_found")
		requireProblem(t, e.do("DELETE", "/data/invoices/inv_001", tn.key, nil), 400, "invalid_request")
		other := e.account("archive-other")
		requireProblem(t, e.do("DELETE", "/data/invoices/inv_001?source="+tn.sourceID, other, nil), 404, "not_found")
		require.Empty(t, listIDs("&archived=true"), "another account archived nothing")
	})
}
