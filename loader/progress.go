package loader

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"invoice-ingest/client"
)

// Progress shows a run as it goes. Add is called by one goroutine; Finish once at the end.
type Progress interface {
	Add(client.Counts)
	Finish()
}

// Bar is the live bar of a terminal: rows done of total (when known), rows/s, ETA, counts.
type Bar struct {
	bar    *progressbar.ProgressBar
	total  int64
	counts client.Counts
}

// NewBar draws on w; total < 0 means unknown (a spinner).
func NewBar(w io.Writer, total int64, label string) *Bar {
	return &Bar{total: total, bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)}
}

func (b *Bar) Add(c client.Counts) {
	b.counts = b.counts.Plus(c)
	b.bar.Describe(fmt.Sprintf("ins %d upd %d unch %d err %d", b.counts.Inserted, b.counts.Updated, b.counts.Unchanged, b.counts.Errors))
	_ = b.bar.Add64(c.Rows)
}

// Finish draws the bar full when every row was counted, and leaves it as it is otherwise (a
// run that stopped, or a total that was an estimate).
func (b *Bar) Finish() {
	if b.counts.Rows == b.total {
		_ = b.bar.Finish()
		return
	}
	_ = b.bar.Exit()
}

// Lines writes one line per tick (every 10 s off a terminal): rows so far, rows/s, counts.
type Lines struct {
	w      io.Writer
	label  string
	total  int64
	now    func() time.Time
	start  time.Time
	mu     sync.Mutex
	counts client.Counts
	stop   chan struct{}
	ended  chan struct{}
}

// NewLines starts writing a line to w at every tick (time.NewTicker(10*time.Second).C in the
// command, a channel of the test's in tests) until Finish.
func NewLines(w io.Writer, label string, total int64, ticks <-chan time.Time, now func() time.Time) *Lines {
	l := &Lines{w: w, label: label, total: total, now: now, start: now(), stop: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(l.ended)
		for {
			select {
			case <-ticks:
				l.line()
			case <-l.stop:
				return
			}
		}
	}()
	return l
}

func (l *Lines) Add(c client.Counts) {
	l.mu.Lock()
	l.counts = l.counts.Plus(c)
	l.mu.Unlock()
}

func (l *Lines) line() {
	l.mu.Lock()
	c := l.counts
	l.mu.Unlock()
	secs := l.now().Sub(l.start).Seconds()
	of := ""
	if l.total >= 0 {
		of = fmt.Sprintf(" of %d", l.total)
	}
	fmt.Fprintf(l.w, "%s: %d%s rows, %.0f rows/s (inserted %d, updated %d, unchanged %d, errors %d)\n",
		l.label, c.Rows, of, rate(c.Rows, secs), c.Inserted, c.Updated, c.Unchanged, c.Errors)
}

func (l *Lines) Finish() {
	close(l.stop)
	<-l.ended
}

// rate is rows per second, 0 for no time.
func rate(rows int64, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(rows) / secs
}
