package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// newClient is an HTTP client with keep-alives whose connections come from local address from
// (nil: the kernel's choice), every request bounded by timeout.
func newClient(from net.IP, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if from != nil {
		d.LocalAddr = &net.TCPAddr{IP: from}
	}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext: d.DialContext, MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true,
	}}
}

// answer is one request's outcome: its status, or the transport error's class.
type answer struct {
	start  time.Time
	dur    time.Duration
	status int
	err    string // "" or refused, timeout, reset, eof, other
}

// label is the answer's status, or its error class.
func (a answer) label() string {
	if a.err != "" {
		return a.err
	}
	return strconv.Itoa(a.status)
}

// do sends one request (key as bearer token, body when non-nil) and reads the whole answer.
func do(ctx context.Context, c *http.Client, method, url, key, ctype string, body []byte) answer {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	a := answer{start: time.Now()}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		a.err = "other"
		return a
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := c.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		a.status = res.StatusCode
	}
	a.dur = time.Since(a.start)
	switch {
	case err != nil && ctx.Err() != nil:
		a.err = "canceled" // the caller ended it (end of a phase), not the server
	case err != nil:
		a.err = errClass(err)
	}
	return a
}

// errClass names a transport error: refused (nobody listens), timeout, reset, eof, other.
func errClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "other"
}

// createSource creates data source "stripe" for key.
func createSource(ctx context.Context, base, key string) error {
	a := do(ctx, newClient(nil, 30*time.Second), "POST", base+"/data/data_sources", key, "application/json", []byte(`{"name":"stripe"}`))
	if a.status != http.StatusCreated && a.status != http.StatusOK {
		return fmt.Errorf("POST /data/data_sources: %s", a.label())
	}
	return nil
}

// customersBody is a JSON array of n customers prefix0..prefix<n-1> named name.
func customersBody(prefix string, n int, name string) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%s%d","data_source":"stripe","name":%q}`, prefix, i, name)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// tally counts answers by label and keeps their latencies.
type tally struct {
	mu     sync.Mutex
	counts map[string]int
	lats   []time.Duration
}

func newTally() *tally { return &tally{counts: map[string]int{}} }

func (t *tally) add(a answer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts[a.label()]++
	t.lats = append(t.lats, a.dur)
}

func (t *tally) total() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.counts {
		n += c
	}
	return n
}

// count is how many answers had label.
func (t *tally) count(label string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counts[label]
}

// labels returns the labels other than those given, sorted.
func (t *tally) labels(except ...string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for l := range t.counts {
		if !slices.Contains(except, l) {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// String is "200×12 503×40" in label order.
func (t *tally) String() string {
	ls := t.labels()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(ls) == 0 {
		return "none"
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = fmt.Sprintf("%s×%d", l, t.counts[l])
	}
	return strings.Join(parts, " ")
}

// counted is the tally as a map, for the JSON summary.
func (t *tally) counted() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.counts)
}

// quantile returns the q-quantile of the latencies (q=1: the maximum).
func (t *tally) quantile(q float64) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lats) == 0 {
		return 0
	}
	s := slices.Clone(t.lats)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// fiveXX is how many answers were 5xx statuses.
func (t *tally) fiveXX() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for l, c := range t.counts {
		if strings.HasPrefix(l, "5") && len(l) == 3 {
			n += c
		}
	}
	return n
}
