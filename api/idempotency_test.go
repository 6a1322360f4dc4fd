package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/models/dbtest"
)

const oneInvoice = `[{"id": "i1", "customer_id": "cus_123", "data_source": "stripe", "type": "one-time", "date": "2024-07-03",
	"amount_cents": 100, "currency": "eur", "start_date": "2024-07-03", "end_date": "2024-07-03"}]`

// A replay is the first answer byte for byte, with the first import's id, and costs one
// statement besides authentication (the Idempotency-Key's look-up): nothing is written.
func TestIdempotencyReplay(t *testing.T) {
	t.Parallel()
	db, statements := countedDB(t)
	e := newEnvOn(t, db, noLimits)
	tn := newTenant(t, e, "replay")
	first := e.do("POST", "/data/invoices", tn.key, oneInvoice, "Idempotency-Key", "k-1")
	requireStatuses(t, first, "inserted")
	require.Empty(t, first.Header.Get("Idempotent-Replayed"))
	updated := e.count(`SELECT (extract(epoch FROM updated_at)*1e6)::bigint FROM invoices WHERE source_id = ? AND id = 'i1'`, tn.sourceID)

	before := statements.Load()
	again := e.do("POST", "/data/invoices", tn.key, oneInvoice, "Idempotency-Key", "k-1")
	require.EqualValues(t, 2, statements.Load()-before, "a replay is the API key's look-up and the Idempotency-Key's")
	require.Equal(t, http.StatusOK, again.Status)
	require.Equal(t, string(first.Body), string(again.Body))
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.Equal(t, first.Header.Get("Import-Id"), again.Header.Get("Import-Id"))
	require.Equal(t, updated, e.count(`SELECT (extract(epoch FROM updated_at)*1e6)::bigint FROM invoices WHERE source_id = ? AND id = 'i1'`, tn.sourceID))

	requireStatuses(t, e.do("POST", "/data/invoices", tn.key, oneInvoice), "unchanged") // without the key: runs

	requireProblem(t, e.do("POST", "/data/invoices", tn.key, oneInvoice+" ", "Idempotency-Key", "k-1"),
		http.StatusUnprocessableEntity, "idempotency_key_reused")
	requireProblem(t, e.do("POST", "/data/invoices?dry_run=false", tn.key, oneInvoice, "Idempotency-Key", "k-1"),
		http.StatusUnprocessableEntity, "idempotency_key_reused")
	requireProblem(t, e.do("POST", "/data/customers", tn.key, oneInvoice, "Idempotency-Key", "k-1"),
		http.StatusUnprocessableEntity, "idempotency_key_reused")

	// Another account's key of the same name is its own.
	other := newTenant(t, e, "replay-other")
	requireStatuses(t, e.do("POST", "/data/invoices", other.key, oneInvoice, "Idempotency-Key", "k-1"), "inserted")

	// A batch that writes nothing stores its answer too; a dry run does not.
	errs := e.do("POST", "/data/customers", tn.key, `[5]`, "Idempotency-Key", "k-2")
	requireStatuses(t, errs, "error")
	require.Equal(t, "true", e.do("POST", "/data/customers", tn.key, `[5]`, "Idempotency-Key", "k-2").Header.Get("Idempotent-Replayed"))
	for range 2 {
		dry := e.do("POST", "/data/invoices?dry_run=true", tn.key, oneInvoice, "Idempotency-Key", "k-3")
		requireStatuses(t, dry, "unchanged")
		require.Empty(t, dry.Header.Get("Idempotent-Replayed"))
	}
}

func TestIdempotencyKeyChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, noLimits)
	tn := newTenant(t, e, "keys")
	long := strings.Repeat("a", 256)
	for _, k := range []string{"é", "a\tb", long} {
		requireProblem(t, e.do("POST", "/data/customers", tn.key, `[]`, "Idempotency-Key", k), http.StatusBadRequest, "invalid_request")
	}
	r := e.do("POST", "/data/customers", tn.key, `{"id": "x", "data_source": "stripe"}`,
		"Content-Type", "application/x-ndjson", "Idempotency-Key", "k")
	requireProblem(t, r, http.StatusBadRequest, "invalid_request")
}

// keyEnv is an API whose JSON writes can be held after taking their key, or dropped after their
// commit.
func keyEnv(t *testing.T, hook func(s *api.Server)) *env {
	t.Helper()
	db := dbtest.DB(t)
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	cfg.RecalcWorkers, cfg.Limits = 0, config.Limits{}
	s := &api.Server{DB: db, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	hook(s)
	h := s.Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, srv: srv, handler: h}
}

// While the first request with a key runs, another with the key is 409; once the first
// answered, it is the replay.
func TestIdempotencyConcurrent(t *testing.T) {
	t.Parallel()
	var hold sync.Mutex
	var holding bool
	claimed, release := make(chan struct{}), make(chan struct{})
	e := keyEnv(t, func(s *api.Server) {
		api.OnKeyClaimed(s, func() {
			hold.Lock()
			first := !holding
			holding = true
			hold.Unlock()
			if first {
				close(claimed)
				<-release
			}
		})
	})
	tn := newTenant(t, e, "concurrent")
	done := make(chan response, 1)
	go func() {
		r, err := e.send("POST", "/data/invoices", tn.key, oneInvoice, "Idempotency-Key", "same")
		require.NoError(t, err)
		done <- r
	}()
	<-claimed
	requireProblem(t, e.do("POST", "/data/invoices", tn.key, oneInvoice, "Idempotency-Key", "same"),
		http.StatusConflict, "idempotency_key_in_use")
	close(release)
	first := <-done
	requireStatuses(t, first, "inserted")
	again := e.do("POST", "/data/invoices", tn.key, oneInvoice, "Idempotency-Key", "same")
	require.Equal(t, string(first.Body), string(again.Body))
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
}

// A server that dies between the commit and the answer: the retry with the key gets the stored
// answer (inserted), not what a re-run would say (unchanged).
func TestIdempotencyCommitThenCrash(t *testing.T) {
	t.Parallel()
	var crashed sync.Once
	e := keyEnv(t, func(s *api.Server) {
		api.BeforeAnswer(s, func(r *http.Request) bool {
			crash := false
			if r.Header.Get("Idempotency-Key") != "" {
				crashed.Do(func() { crash = true })
			}
			return !crash
		})
	})
	tn := newTenant(t, e, "crash")
	// A client of its own: Go's transport re-sends a request with an Idempotency-Key by itself
	// when a reused connection drops; this test makes the retry itself.
	req, err := http.NewRequest("POST", e.srv.URL+"/data/invoices", strings.NewReader(oneInvoice))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tn.key)
	req.Header.Set("Idempotency-Key", "crash-1")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	_, err = client.Do(req)
	require.Error(t, err, "the connection drops unanswered")
	require.EqualValues(t, 1, e.count(`SELECT count(*) FROM invoices WHERE source_id = ? AND id = 'i1'`, tn.sourceID), "the write committed")
	r := e.do("POST", "/data/invoices", tn.key, oneInvoice, "Idempotency-Key", "crash-1")
	requireStatuses(t, r, "inserted")
	require.Equal(t, "true", r.Header.Get("Idempotent-Replayed"))
}
