package loader

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/client"
)

// countingSource yields n rows {"id":"r<i>"} and counts how many were read.
type countingSource struct {
	n, read int
}

func (s *countingSource) Next() (Row, error) {
	if s.read == s.n {
		return Row{}, io.EOF
	}
	b := []byte(fmt.Sprintf(`{"id":"r%d"}`, s.read))
	s.read++
	return Row{JSON: b, Orig: b}, nil
}

// holdingServer answers every batch "inserted", except that the batches hold(first row) says
// are held until answer is called. Every request's first row index goes to arrived.
type holdingServer struct {
	*httptest.Server
	hold    func(firstRow int) bool
	release chan struct{}
	once    sync.Once
	arrived chan int
}

// answer lets the held batches be answered.
func (s *holdingServer) answer() { s.once.Do(func() { close(s.release) }) }

func newHoldingServer(t *testing.T, hold func(firstRow int) bool) *holdingServer {
	s := &holdingServer{hold: hold, release: make(chan struct{}), arrived: make(chan int, 1000)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rows []struct{ ID string }
		if err := json.NewDecoder(r.Body).Decode(&rows); err != nil || len(rows) == 0 {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		first, _ := strconv.Atoi(strings.TrimPrefix(rows[0].ID, "r"))
		s.arrived <- first
		if s.hold(first) {
			<-s.release
		}
		res := client.BatchResult{ImportID: "imp"}
		for i, row := range rows {
			res.Results = append(res.Results, client.RowResult{Index: i, ID: &row.ID, ImportStatus: client.StatusInserted})
		}
		_ = json.NewEncoder(w).Encode(res)
	}))
	t.Cleanup(func() { s.answer(); s.Close() })
	return s
}

// runAsync runs the loader and returns its outcome on a channel.
func runAsync(src Source, o Options) <-chan error {
	out := make(chan error, 1)
	go func() {
		c, err := Run(context.Background(), src, o)
		if err == nil && (c.Rows != int64(src.(*countingSource).n) || c.Inserted != c.Rows) {
			err = fmt.Errorf("counted %+v, want %d rows inserted", c, src.(*countingSource).n)
		}
		out <- err
	}()
	return out
}

// While the service answers nothing, the loader reads 2 x concurrency batches (and the one it
// is about to queue) and sends concurrency of them: that is all the rows it holds in memory.
func TestRowsWindowBoundsBatchesHeld(t *testing.T) {
	const conc, batchRows, rows = 3, 2, 100
	srv := newHoldingServer(t, func(int) bool { return true })
	src := &countingSource{n: rows}
	full, readAtFull := make(chan struct{}), 0
	o := Options{Client: client.New(srv.URL, "k"), Entity: client.Invoices, Batch: batchRows, Concurrency: conc}
	o.onFull = func(held, uncounted int) {
		if readAtFull == 0 && held == 2*conc {
			readAtFull = src.read // the reader calls onFull: no race with Next
			close(full)
		}
	}
	done := runAsync(src, o)
	select {
	case <-full:
	case err := <-done:
		t.Fatalf("the run ended while nothing was answered: %v", err)
	}
	require.Equal(t, (2*conc+1)*batchRows, readAtFull, "rows read when the rows window filled")
	for range conc { // every worker has a request at the server, and the reader waits
		<-srv.arrived
	}
	require.Len(t, srv.arrived, 0, "requests beyond concurrency")
	srv.answer()
	require.NoError(t, <-done)
}

// While the first batch's answer is held, the batches behind it are sent and answered (they
// do not wait for it), up to the uncounted window, and no further: the reader then waits for the
// first batch to be counted.
func TestUncountedWindowBoundsRunAhead(t *testing.T) {
	const conc, rows = 2, 200
	limit := uncountedPerWorker * conc
	srv := newHoldingServer(t, func(first int) bool { return first == 0 })
	src := &countingSource{n: rows}
	full, readAtFull := make(chan struct{}), 0
	o := Options{Client: client.New(srv.URL, "k"), Entity: client.Invoices, Batch: 1, Concurrency: conc}
	o.onFull = func(held, uncounted int) {
		if readAtFull == 0 && uncounted == limit {
			readAtFull = src.read
			close(full)
		}
	}
	done := runAsync(src, o)
	select {
	case <-full:
	case err := <-done:
		t.Fatalf("the run ended while its first batch was held: %v", err)
	}
	require.Equal(t, limit+1, readAtFull, "batches read when the uncounted window filled")
	seen := map[int]bool{}
	for range limit { // the first batch and every one behind it in the window reach the server
		seen[<-srv.arrived] = true
	}
	for i := range limit {
		require.True(t, seen[i], "batch of row %d not sent while the first was held", i)
	}
	require.Len(t, srv.arrived, 0, "batches sent beyond the uncounted window")
	srv.answer()
	require.NoError(t, <-done)
}
