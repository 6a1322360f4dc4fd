package api_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/ingest"
	"invoice-ingest/models/dbtest"
	"invoice-ingest/validation"
)

// logRecord is one record a server logged: its level, message and attributes.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]any
}

// capturedLog is a slog.Handler keeping every record; requests receives each access log record
// (message "request"), which the access log writes once the handler is done.
type capturedLog struct {
	mu       *sync.Mutex
	records  *[]logRecord
	requests chan logRecord
	attrs    []slog.Attr
}

func newCapturedLog() *capturedLog {
	return &capturedLog{mu: &sync.Mutex{}, records: &[]logRecord{}, requests: make(chan logRecord, 256)}
}

func (h *capturedLog) Enabled(context.Context, slog.Level) bool { return true }

func (h *capturedLog) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]any{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.Any()
	}
	r.Attrs(func(a slog.Attr) bool { rec.attrs[a.Key] = a.Value.Any(); return true })
	h.mu.Lock()
	*h.records = append(*h.records, rec)
	h.mu.Unlock()
	if rec.msg == "request" {
		h.requests <- rec
	}
	return nil
}

func (h *capturedLog) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *capturedLog) WithGroup(string) slog.Handler { return h }

// errors returns the records logged at level Error or above.
func (h *capturedLog) errors() []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []logRecord
	for _, r := range *h.records {
		if r.level >= slog.LevelError {
			out = append(out, r)
		}
	}
	return out
}

// request waits for the access log record of the request to path.
func (h *capturedLog) request(t *testing.T, path string) logRecord {
	t.Helper()
	for r := range h.requests {
		if r.attrs["path"] == path {
			return r
		}
	}
	panic("unreachable")
}

// A JSON write whose client goes away after the last statement of its transaction, before the
// commit (database/sql rolls it back then, and the commit fails with sql.ErrTxDone), is a client
// gone: 499 in the access log, no internal error logged, nothing stored.
func TestJSONClientGoneBeforeCommit(t *testing.T) {
	t.Parallel()
	log := newCapturedLog()
	s := &api.Server{Config: streamConfig(t, func(*config.Config) {}), Log: slog.New(log)}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	api.OnRecorded(s, func(tx *gorm.DB, r *http.Request) {
		if r.Header.Get("X-Test-Leave") == "" {
			return
		}
		cancel()             // the client goes away,
		<-r.Context().Done() // the server sees it,
		dbtest.AwaitRolledBack(t, tx)
	})
	e := newStreamEnv(t, s, nil)
	tn := newTenant(t, e.env, "json-gone")
	req, err := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/data/customers",
		strings.NewReader(`[{"id": "gone", "data_source": "stripe", "name": "Gone"}]`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tn.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-Leave", "1")
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.Canceled)

	rec := log.request(t, "/data/customers")
	for rec.attrs["status"] == int64(200) || rec.attrs["status"] == int64(201) { // newTenant's writes
		rec = log.request(t, "/data/customers")
	}
	require.EqualValues(t, 499, rec.attrs["status"])
	require.Empty(t, log.errors(), "a client gone is not an internal error")
	require.Zero(t, e.count(`SELECT count(*) FROM customers WHERE source_id = ? AND id = 'gone'`, tn.sourceID))
	// Its import's receipt is still complete: failed, with nothing counted (recorded once the
	// answer is given up, by a goroutine of its own).
	require.Eventually(t, func() bool {
		return e.count(`SELECT count(*) FROM imports WHERE account_id = (SELECT account_id FROM data_sources WHERE id = ?)
			AND status = 'failed' AND row_count = 0`, tn.sourceID) == 1
	}, 10*time.Second, 10*time.Millisecond)
}

// A client cut off mid-stream, while a chunk is still being written, is no internal error (its
// end is logged at level Info, not answered as a database fault), and its import ends failed,
// counting exactly the chunks that committed: the chunks cancelled behind it leave nothing.
func TestStreamClientCutLogsNoError(t *testing.T) {
	t.Parallel()
	log := newCapturedLog()
	s := &api.Server{Config: streamConfig(t, func(*config.Config) {}), Log: slog.New(log)}
	cut := make(chan struct{})
	api.WrapStreamBatch(s, func(base int, next api.BatchFunc) api.BatchFunc {
		return func(ctx context.Context, account uuid.UUID, rows validation.Rows, opt ingest.Options) ([]ingest.Result, error) {
			if base == 1000 {
				<-cut // still in flight when the client goes
			}
			return next(ctx, account, rows, opt)
		}
	})
	e := newStreamEnv(t, s, nil)
	tn := newTenant(t, e.env, "stream-cut-log")
	var body strings.Builder
	customerRows(&body, "cut", 6000)
	pr, pw := io.Pipe()
	go func() { _, _ = io.WriteString(pw, body.String()) }()
	res, cancel := e.postStream(t, tn.key, pr)
	sc := bufio.NewScanner(res.Body)
	readLines(t, sc, 1000, "inserted")
	cancel()
	pw.CloseWithError(io.ErrUnexpectedEOF)
	close(cut)
	require.Error(t, e.waitEnd(t))
	require.Empty(t, log.errors(), "a client gone is not an internal error")

	var imp struct {
		Status   string
		RowCount int64
	}
	require.NoError(t, e.db.Gorm.Raw(`SELECT status, row_count FROM imports WHERE account_id = (SELECT account_id FROM data_sources WHERE id = ?)
		AND content_type = 'application/x-ndjson'`, tn.sourceID).Scan(&imp).Error)
	require.Equal(t, "failed", imp.Status)
	stored := e.count(`SELECT count(*) FROM customers WHERE source_id = ? AND id LIKE 'cut%'`, tn.sourceID)
	require.Equal(t, stored, imp.RowCount, "the import counts what committed")
}
