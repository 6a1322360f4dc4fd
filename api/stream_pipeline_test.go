package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/ingest"
	"invoice-ingest/models"
	"invoice-ingest/validation"
)

// wrapped is a stream environment whose chunk batches run through wrap (api.WrapStreamBatch).
func wrapped(t *testing.T, wrap func(base int, next api.BatchFunc) api.BatchFunc) *streamEnv {
	s := &api.Server{Config: streamConfig(t, func(*config.Config) {})}
	api.WrapStreamBatch(s, wrap)
	return newStreamEnv(t, s, nil)
}

// before runs f before the batch, then the batch.
func before(next api.BatchFunc, f func(ctx context.Context, opt *ingest.Options) error) api.BatchFunc {
	return func(ctx context.Context, account uuid.UUID, rows validation.Rows, opt ingest.Options) ([]ingest.Result, error) {
		if err := f(ctx, &opt); err != nil {
			return nil, err
		}
		return next(ctx, account, rows, opt)
	}
}

// turnHook is an ingest.Order whose Turn runs f first.
type turnHook struct {
	ingest.Order
	f func(ctx context.Context) error
}

func (h turnHook) Turn(ctx context.Context, keys []uint64) (bool, error) {
	if err := h.f(ctx); err != nil {
		return false, err
	}
	return h.Order.Turn(ctx, keys)
}

// postStream posts body as an NDJSON stream of customers, from a goroutine, and returns the answer
// once its status arrived; cancel cuts the connection.
func (e *streamEnv) postStream(t *testing.T, key string, body io.Reader) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/data/customers", body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { cancel(); res.Body.Close() })
	return res, cancel
}

// Chunks overlap (the first is held until StreamInFlight batches run at once, and no more run),
// yet answers come in input order and every id ends as its last row in the stream says, though
// the same ids come back chunk after chunk with other names and rows in error among them.
func TestStreamPipelineOrder(t *testing.T) {
	t.Parallel()
	var running, most atomic.Int32
	started := make(chan struct{}, 64)
	release := make(chan struct{})
	e := wrapped(t, func(base int, next api.BatchFunc) api.BatchFunc {
		return func(ctx context.Context, account uuid.UUID, rows validation.Rows, opt ingest.Options) ([]ingest.Result, error) {
			n := running.Add(1)
			defer running.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			started <- struct{}{}
			if base == 0 {
				<-release
			}
			return next(ctx, account, rows, opt)
		}
	})
	tn := newTenant(t, e.env, "pipeline-order")
	const n, ids = 5500, 1300 // an id comes back every 1300 rows: in a later chunk, never the same
	var body strings.Builder
	want := make([]string, n)
	last := map[string]string{}
	for i := range n {
		id, name := fmt.Sprintf("p%d", i%ids), fmt.Sprintf("v%d", i/ids)
		switch _, seen := last[id]; {
		case i%97 == 0:
			fmt.Fprintf(&body, `{"id": %q, "name": %q}`+"\n", id, name)
			want[i] = "error"
			continue
		case seen:
			want[i] = "updated"
		default:
			want[i] = "inserted"
		}
		last[id] = name
		fmt.Fprintf(&body, `{"id": %q, "data_source": "stripe", "name": %q}`+"\n", id, name)
	}
	go func() {
		for range api.StreamInFlight {
			<-started
		}
		close(release)
	}()
	res, _ := e.postStream(t, tn.key, strings.NewReader(body.String()))
	require.Equal(t, http.StatusOK, res.StatusCode)
	sc := bufio.NewScanner(res.Body)
	for i := range n {
		require.True(t, sc.Scan(), "line %d: %v", i, sc.Err())
		var r map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		require.EqualValues(t, i, r["index"], sc.Text())
		require.Equal(t, want[i], r["import_status"], sc.Text())
	}
	require.False(t, sc.Scan(), "nothing after the last row")
	require.ErrorIs(t, e.waitEnd(t), io.EOF)
	require.EqualValues(t, api.StreamInFlight, most.Load(), "batches at once")

	var stored []struct{ ID, Name string }
	require.NoError(t, e.db.Gorm.Raw(`SELECT id, name FROM customers WHERE source_id = ? AND id LIKE 'p%'`, tn.sourceID).Scan(&stored).Error)
	got := map[string]string{}
	for _, s := range stored {
		got[s.ID] = s.Name
	}
	require.Equal(t, last, got)
}

// A chunk read while an earlier one was not yet committed decides its statuses again when that
// one wrote: a row it found unchanged may be older than the stream's own earlier write.
func TestStreamPipelineStaleReads(t *testing.T) {
	t.Parallel()
	readsDone := make(chan struct{})
	e := wrapped(t, func(base int, next api.BatchFunc) api.BatchFunc {
		return before(next, func(_ context.Context, opt *ingest.Options) error {
			switch base {
			case 0: // writes only once the second chunk has read
				opt.Order = turnHook{opt.Order, func(ctx context.Context) error {
					select {
					case <-readsDone:
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				}}
			case 1000:
				opt.Order = turnHook{opt.Order, func(context.Context) error { close(readsDone); return nil }}
			}
			return nil
		})
	})
	tn := newTenant(t, e.env, "pipeline-stale")
	requireStatuses(t, e.do("POST", "/data/customers", tn.key, `{"id": "x", "data_source": "stripe", "name": "v1"}`), "inserted")
	var body strings.Builder
	body.WriteString(`{"id": "x", "data_source": "stripe", "name": "v2"}` + "\n")
	customerRows(&body, "fill", 999)
	body.WriteString(`{"id": "x", "data_source": "stripe", "name": "v1"}` + "\n") // back to what was stored

	res, _ := e.postStream(t, tn.key, strings.NewReader(body.String()))
	sc := bufio.NewScanner(res.Body)
	readLines(t, sc, 1, "updated")
	readLines(t, sc, 999, "inserted")
	readLines(t, sc, 1, "updated")
	require.ErrorIs(t, e.waitEnd(t), io.EOF)
	var name string
	require.NoError(t, e.db.Gorm.Raw(`SELECT name FROM customers WHERE source_id = ? AND id = 'x'`, tn.sourceID).Scan(&name).Error)
	require.Equal(t, "v1", name, "the stream's last row wins")
}

// When a chunk's batch fails while later chunks are read and waiting to write, the stream ends
// after the last chunk before it with the failure, and no later chunk writes anything.
func TestStreamPipelineChunkFails(t *testing.T) {
	t.Parallel()
	waiting := make(chan int, 64)
	e := wrapped(t, func(base int, next api.BatchFunc) api.BatchFunc {
		return before(next, func(context.Context, *ingest.Options) error {
			waiting <- base
			if base != 1000 {
				return nil
			}
			for later := 0; later < 2; { // chunks 2000 and 3000 are started
				if b := <-waiting; b > 1000 {
					later++
				}
			}
			return models.Errorf(models.EUNAVAILABLE, "The database is unavailable (test).")
		})
	})
	tn := newTenant(t, e.env, "pipeline-fails")
	var body strings.Builder
	customerRows(&body, "f", 5000)

	res, _ := e.postStream(t, tn.key, strings.NewReader(body.String()))
	sc := bufio.NewScanner(res.Body)
	readLines(t, sc, 1000, "inserted")
	requireErrorLine(t, sc, "unavailable", "The database is unavailable (test).")
	err := e.waitEnd(t)
	require.Error(t, err)
	require.NotErrorIs(t, err, io.EOF)
	require.EqualValues(t, 1000, e.count(`SELECT count(*) FROM customers WHERE source_id = ? AND id LIKE 'f%'`, tn.sourceID))
}

// A client cut off mid-stream finds stored the rows answered to it, and at most the whole
// chunks in flight beyond them (never part of one); re-sending from the first row not answered
// stores the rest, the rows stored meanwhile answering unchanged.
func TestStreamPipelineClientCut(t *testing.T) {
	t.Parallel()
	cut := make(chan struct{})
	e := wrapped(t, func(base int, next api.BatchFunc) api.BatchFunc {
		return before(next, func(context.Context, *ingest.Options) error {
			if base == 1000 {
				<-cut // still in flight when the client goes
			}
			return nil
		})
	})
	tn := newTenant(t, e.env, "pipeline-cut")
	const n = 6000
	var body strings.Builder
	customerRows(&body, "cut", n)
	rows := strings.SplitAfter(body.String(), "\n")

	pr, pw := io.Pipe()
	go func() { _, _ = io.WriteString(pw, body.String()) }()
	res, cancel := e.postStream(t, tn.key, pr)
	sc := bufio.NewScanner(res.Body)
	readLines(t, sc, 1000, "inserted")
	answered := 1000
	cancel()
	pw.CloseWithError(io.ErrUnexpectedEOF)
	close(cut)
	require.Error(t, e.waitEnd(t))
	stored := int(e.count(`SELECT count(*) FROM customers WHERE source_id = ? AND id LIKE 'cut%'`, tn.sourceID))
	require.GreaterOrEqual(t, stored, answered)
	require.LessOrEqual(t, stored, answered+api.StreamInFlight*1000)
	require.Zero(t, stored%1000, "whole chunks only: %d rows", stored)

	resume := strings.Join(rows[answered:], "")
	got, _ := ndjson(t, e.env, "/data/customers", tn.key, resume)
	require.Len(t, got, n-answered)
	for i, r := range got {
		want := "inserted"
		if answered+i < stored {
			want = "unchanged"
		}
		require.Equal(t, want, r["import_status"], "row %d", answered+i)
	}
	require.EqualValues(t, n, e.count(`SELECT count(*) FROM customers WHERE source_id = ? AND id LIKE 'cut%'`, tn.sourceID))
}
