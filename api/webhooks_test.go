package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"invoice-ingest/config"
	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
	"invoice-ingest/recalc"
	"invoice-ingest/webhooks"
)

func allowPrivate(c *config.Config) { c.Webhooks.AllowPrivate = true }

// The webhook routes: create (the secret once), list (no secrets), deliveries, delete; private
// URLs refused without WEBHOOK_ALLOW_PRIVATE; scopes as for every other /data route.
func TestWebhookRoutes(t *testing.T) {
	t.Parallel()
	strict := newEnv(t)
	key := strict.account("webhooks-strict")
	for _, url := range []string{"http://127.0.0.1/hook", "http://169.254.169.254/", "http://[::1]/"} {
		r := strict.do("POST", "/data/webhooks", key, map[string]any{"url": url, "events": []string{"import.completed"}})
		require.Equal(t, http.StatusBadRequest, r.Status, url)
		require.Contains(t, r.JSON(t)["detail"], "WEBHOOK_ALLOW_PRIVATE")
	}

	e := newEnv(t, allowPrivate)
	key = e.account("webhooks-routes")
	for _, body := range []string{`{}`, `{"url": "http://127.0.0.1:1/"}`, `{"url": "http://127.0.0.1:1/", "events": ["nope"]}`,
		`{"url": "http://127.0.0.1:1/", "events": ["import.completed"], "extra": 1}`, `[]`, `{"url": "ftp://x/", "events": ["import.completed"]}`} {
		require.Equal(t, http.StatusBadRequest, e.do("POST", "/data/webhooks", key, body).Status, body)
	}
	r := e.do("POST", "/data/webhooks", key, map[string]any{"url": "http://127.0.0.1:1/hook",
		"events": []string{"customer.mrr_changed", "import.completed", "import.completed"}})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	created := r.JSON(t)["result"].(map[string]any)
	require.True(t, strings.HasPrefix(created["secret"].(string), "whsec_"))
	require.Equal(t, []any{"import.completed", "customer.mrr_changed"}, created["events"])
	id := created["id"].(string)

	list := e.do("GET", "/data/webhooks", key, nil).JSON(t)["result"].(map[string]any)
	require.Equal(t, 1.0, list["count"])
	require.NotContains(t, list["list"].([]any)[0], "secret", "the secret is shown only at creation")

	page := e.do("GET", "/data/webhooks/"+id+"/deliveries?limit=10", key, nil).JSON(t)["result"].(map[string]any)
	require.Equal(t, 0.0, page["count"])
	require.Equal(t, http.StatusBadRequest, e.do("GET", "/data/webhooks/"+id+"/deliveries?cursor=zz", key, nil).Status)

	other := e.account("webhooks-other")
	require.Equal(t, http.StatusNotFound, e.do("GET", "/data/webhooks/"+id+"/deliveries", other, nil).Status)
	require.Equal(t, http.StatusNotFound, e.do("DELETE", "/data/webhooks/"+id, other, nil).Status)
	require.Equal(t, http.StatusNotFound, e.do("DELETE", "/data/webhooks/not-a-uuid", key, nil).Status)

	acc, err := e.db.FindKey(context.Background(), key)
	require.NoError(t, err)
	_, readOnly, err := e.db.CreateKey(context.Background(), acc.AccountID, []string{models.ScopeRead})
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, e.do("DELETE", "/data/webhooks/"+id, readOnly, nil).Status)
	require.Equal(t, http.StatusOK, e.do("GET", "/data/webhooks", readOnly, nil).Status)

	require.Equal(t, http.StatusNoContent, e.do("DELETE", "/data/webhooks/"+id, key, nil).Status)
	require.Equal(t, http.StatusNotFound, e.do("DELETE", "/data/webhooks/"+id, key, nil).Status)
}

// hookReceiver keeps every delivery it gets, answering 200.
type hookReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []delivered
	more chan struct{} // gets a value after each delivery
}

type delivered struct {
	header http.Header
	body   []byte
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{more: make(chan struct{}, 100)}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, delivered{r.Header.Clone(), body})
		h.mu.Unlock()
		h.more <- struct{}{}
	}))
	t.Cleanup(h.Close)
	return h
}

// await waits until the receiver has a delivery of each of types, and returns them by type.
func (h *hookReceiver) await(t *testing.T, types ...string) map[string]delivered {
	t.Helper()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for {
		byType := map[string]delivered{}
		h.mu.Lock()
		for _, d := range h.got {
			var env struct{ Type string }
			require.NoError(t, json.Unmarshal(d.body, &env))
			byType[env.Type] = d
		}
		h.mu.Unlock()
		if len(byType) >= len(types) {
			require.ElementsMatch(t, types, keysOf(byType))
			return byType
		}
		select {
		case <-h.more:
		case <-timeout.C:
			t.Fatalf("deliveries of %v did not all arrive: %v", types, keysOf(byType))
		}
	}
}

func keysOf(m map[string]delivered) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Every event type arrives, signed so that the Standard Webhooks library accepts it: an invoices
// import completes, its customer's MRR goes from 0 to 10000 (new) in the recalculation, and the
// import's metrics catch up.
func TestWebhookEventsEndToEnd(t *testing.T) {
	t.Parallel()
	// A database of its own: the package's other tests run recalculation pools without the
	// webhooks' hook, which would take this test's customers.
	db, err := models.Open(context.Background(), dbtest.NewDatabase(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	e := newEnvOn(t, db, allowPrivate, noLimits)
	tn := newTenant(t, e, "webhooks-e2e")
	h := newHookReceiver(t)
	r := e.do("POST", "/data/webhooks", tn.key, map[string]any{"url": h.URL, "events": webhooks.Types})
	require.Equal(t, http.StatusCreated, r.Status)
	secret := r.JSON(t)["result"].(map[string]any)["secret"].(string)
	runDeliveries(t, e)

	start := time.Now().UTC().AddDate(0, 0, -1) // a yearly subscription active now: MRR 10000
	inv := e.do("POST", "/data/invoices", tn.key, fmt.Sprintf(`{"id": "in_1", "customer_id": "cus_123", "data_source": "stripe",
		"type": "subscription", "date": %q, "amount_cents": 120000, "currency": "usd", "start_date": %[1]q, "end_date": %q}`,
		start.Format(time.DateOnly), start.AddDate(1, 0, 0).Format(time.DateOnly)))
	requireStatuses(t, inv, "inserted")
	importID := inv.Header.Get("Import-Id")
	h.await(t, webhooks.ImportCompleted) // before any recalculation
	startWebhookRecalc(t, e)
	got := h.await(t, webhooks.Types...)

	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	for typ, d := range got {
		require.NoError(t, wh.Verify(d.body, d.header), typ)
		require.Error(t, wh.Verify([]byte(strings.Replace(string(d.body), "}", " }", 1)), d.header), "tampered %s", typ)
	}
	data := func(typ string) map[string]any {
		var env struct{ Data map[string]any }
		require.NoError(t, json.Unmarshal(got[typ].body, &env))
		return env.Data
	}
	require.Equal(t, importID, data(webhooks.ImportCompleted)["id"])
	require.Equal(t, "completed", data(webhooks.ImportCompleted)["status"])
	caught := data(webhooks.ImportCaughtUp)
	require.Equal(t, importID, caught["id"])
	require.Equal(t, 0.0, caught["metrics"].(map[string]any)["pending"])
	require.NotNil(t, caught["metrics"].(map[string]any)["caught_up_at"])
	mrr := data(webhooks.MRRChanged)
	require.Equal(t, map[string]any{"customer_id": "cus_123", "data_source": tn.sourceID, "currency": "USD",
		"previous_mrr_cents": 0.0, "mrr_cents": 10000.0, "movement": "new", "calculated_at": mrr["calculated_at"]}, mrr)

	hooks := e.do("GET", "/data/webhooks", tn.key, nil).JSON(t)["result"].(map[string]any)["list"].([]any)
	id := hooks[0].(map[string]any)["id"].(string)
	// The receiver has answered every delivery; the pool records each as delivered once the
	// answer is back, which may be just after the receiver saw the request.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		log := e.do("GET", "/data/webhooks/"+id+"/deliveries?limit=2", tn.key, nil).JSON(t)["result"].(map[string]any)
		require.Equal(c, true, log["has_more"])
		rest := e.do("GET", "/data/webhooks/"+id+"/deliveries?cursor="+log["next_cursor"].(string), tn.key, nil).JSON(t)["result"].(map[string]any)
		require.Equal(c, 1.0, rest["count"])
		for _, d := range append(log["list"].([]any), rest["list"].([]any)...) {
			require.Equal(c, "delivered", d.(map[string]any)["status"])
		}
	}, 10*time.Second, 20*time.Millisecond)
}

// runDeliveries runs a webhook delivery pool over e's database until the test ends.
func runDeliveries(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(context.Background())
	p := webhooks.NewPool(e.db, webhooks.Config{Guard: webhooks.Guard{AllowPrivate: true}, PollInterval: 5 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// startWebhookRecalc runs a recalculation pool with the webhooks' write-back hook.
func startWebhookRecalc(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(context.Background())
	pool := recalc.NewPool(e.db, recalc.Config{Workers: 1, PollInterval: 5 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Written: webhooks.RecalcWritten, Watched: webhooks.RecalcWatched})
	done := make(chan error, 1)
	go func() { done <- pool.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
}

// A re-sent row writes nothing, yet its request is an import like any other: recorded, and
// announced to an endpoint watching import.completed. (Such an import is recorded by one
// statement when nothing watches it, and with its event in a transaction when something does.)
func TestImportOfNothingWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t, allowPrivate, noLimits)
	row := `{"id": "cus_1", "data_source": "stripe"}`
	for _, watched := range []bool{false, true} {
		tn := newTenant(t, e, fmt.Sprintf("nothing-written-%v", watched))
		var hook string
		if watched {
			r := e.do("POST", "/data/webhooks", tn.key, map[string]any{"url": "http://127.0.0.1:1/", "events": []string{webhooks.ImportCompleted}})
			require.Equal(t, http.StatusCreated, r.Status)
			hook = r.JSON(t)["result"].(map[string]any)["id"].(string)
		}
		requireStatuses(t, e.do("POST", "/data/customers", tn.key, row), "inserted")
		again := e.do("POST", "/data/customers", tn.key, row)
		imp := e.importOf(tn.key, again)
		require.Equal(t, "completed", imp["status"])
		requireCounts(t, imp, requireStatuses(t, again, "unchanged"))
		if watched {
			page := e.do("GET", "/data/webhooks/"+hook+"/deliveries", tn.key, nil).JSON(t)["result"].(map[string]any)
			require.Equal(t, 2.0, page["count"], "one import.completed for each request")
			for _, d := range page["list"].([]any) {
				require.Equal(t, webhooks.ImportCompleted, d.(map[string]any)["type"])
			}
		}
	}
}
