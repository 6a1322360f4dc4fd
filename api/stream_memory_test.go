package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/config"
)

// A stream of rows of about 1 MiB each (valid rows carrying 1 MiB of unknown fields) holds the
// server's heap to about one chunk: its peak stays under 64 MiB above the idle heap. The test
// runs alone (not in parallel), and its client generates the body without holding it. Under the
// race detector it sends 250 rows (still 250 MiB, against a 64 MiB bound): the bound is per chunk.
func TestStreamMemory(t *testing.T) {
	rows, limit := 2000, int64(64<<20)
	if raceDetector {
		rows = 250
		limit = 96 << 20 // the detector's shadow memory over the 4 chunks a stream holds in flight
	}
	e := newStreamEnv(t, &api.Server{Config: streamConfig(t, func(*config.Config) {})}, nil)
	tn := newTenant(t, e.env, "memory")

	runtime.GC()
	idle := heapObjects()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // samples the heap until the answer is read
		defer close(sampled)
		for {
			if h := heapObjects(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()

	req, err := http.NewRequest("POST", e.srv.URL+"/data/customers", &bigRows{n: rows, pad: strings.Repeat("x", 1<<20-128)})
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tn.key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	sc := bufio.NewScanner(res.Body)
	readLines(t, sc, rows, "inserted")
	require.False(t, sc.Scan(), sc.Text())
	require.ErrorIs(t, e.waitEnd(t), io.EOF)
	close(stop)
	<-sampled

	above := int64(peak.Load()) - int64(idle)
	t.Logf("%d rows of 1 MiB: idle heap %.1f MiB, peak %.1f MiB: %.1f MiB above idle", rows, mib(idle), mib(peak.Load()), float64(above)/(1<<20))
	require.Less(t, above, limit)
	require.EqualValues(t, rows, e.count(`SELECT count(*) FROM customers WHERE source_id = ? AND id LIKE 'big%'`, tn.sourceID))
}

// heapObjects is the bytes of heap objects, live or not yet swept.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// bigRows is an NDJSON body of n customer rows, each with an unknown field holding pad, made
// as it is read.
type bigRows struct {
	n, i int
	pad  string
	line []byte // the rest of the current row
	off  int    // how much of pad the current row has sent
	tail bool   // pad sent: the row's end is in line
}

func (b *bigRows) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case len(b.line) > 0:
			c := copy(p[n:], b.line)
			b.line, n = b.line[c:], n+c
		case b.off < len(b.pad) && b.i > 0 && !b.tail:
			c := copy(p[n:], b.pad[b.off:])
			b.off, n = b.off+c, n+c
			if b.off == len(b.pad) {
				b.line, b.tail = []byte("\"}\n"), true
			}
		case b.i == b.n:
			return n, io.EOF
		default:
			b.line = fmt.Appendf(nil, `{"id": "big%d", "data_source": "stripe", "name": "Big", "notes": "`, b.i)
			b.i, b.off, b.tail = b.i+1, 0, false
		}
	}
	return n, nil
}
