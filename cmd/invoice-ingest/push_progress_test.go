package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/require"
)

// TestPushProgressLines: off a terminal, a tick (every 10 s in real runs) writes one line.
func TestPushProgressLines(t *testing.T) {
	t.Parallel()
	s := newPushServer(t)
	ticks := make(chan time.Time)
	var n atomic.Int32
	s.setFront(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost && r.URL.Path == "/data/invoices" && n.Add(1) == 2 {
			ticks <- time.Now() // received by the progress display while batch 2 is in flight
		}
		return false
	})
	file := writeFile(t, "invoices.csv", invoiceCSV(6))
	r := s.push(t, context.Background(), &clientHooks{ticks: ticks}, "push", "--entity", "invoices", "--source", "src", "--batch", "2", "--concurrency", "1", file)
	require.Equal(t, 0, r.code, r.stderr)
	line := regexp.MustCompile(`(?m)^.*invoices\.csv: (\d) of 6 rows, \d+ rows/s \(inserted (\d), updated 0, unchanged 0, errors 0\)$`)
	m := line.FindAllStringSubmatch(r.stderr, -1)
	require.Len(t, m, 1, r.stderr)
	require.Equal(t, m[0][1], m[0][2])
	require.Contains(t, []string{"0", "2"}, m[0][1], "batch 1 answered or not yet counted when the tick came")
	require.Regexp(t, `push: 6 rows in \d+\.\d s`, r.stderr)
}

// TestPushProgressBar: on a terminal (a pseudo-terminal here) a live bar is drawn.
func TestPushProgressBar(t *testing.T) {
	t.Parallel()
	s := newPushServer(t)
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	defer ptmx.Close()
	var screen bytes.Buffer
	read := make(chan struct{})
	go func() { _, _ = io.Copy(&screen, ptmx); close(read) }() // ends when tty is closed
	file := writeFile(t, "invoices.csv", invoiceCSV(6))
	var out bytes.Buffer
	h := &clientHooks{now: fakeClock(), terminal: true}
	err = runCommand(context.Background(), []string{"push", "--entity", "invoices", "--source", "src", "--batch", "2", file},
		env{lookup: s.lookup(nil), stdout: &out, stderr: tty, hooks: h})
	require.NoError(t, err)
	require.NoError(t, tty.Close())
	<-read
	got := screen.String()
	require.Contains(t, got, "100%", got)
	require.Contains(t, got, "(6/6", "rows done of total")
	require.Contains(t, got, "rows/s", got)
	require.Contains(t, got, "ins 6 upd 0 unch 0 err 0", got)
	require.Contains(t, got, "push: 6 rows in ", "the summary goes to the terminal too")
}
