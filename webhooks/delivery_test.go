package webhooks_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"invoice-ingest/webhooks"
)

// A delivery carries the Standard Webhooks headers: the library of the specification accepts its
// signature, and refuses it once the body is changed.
func TestSignedDelivery(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t, 200)
	e := f.endpoint(r.URL, webhooks.MRRChanged)
	c := newClock()
	f.record(c.Now(), webhooks.Event{Type: webhooks.MRRChanged, Data: map[string]any{"customer_id": "cus_1"}})

	require.Equal(t, 1, runOnce(t, f.pool(c, allowPrivate)))
	got := r.requests()
	require.Len(t, got, 1)
	h := got[0].header
	env := decode(t, got[0].body)
	require.Equal(t, env.ID, h.Get("webhook-id"))
	require.Equal(t, webhooks.MRRChanged, env.Type)
	require.JSONEq(t, `{"customer_id": "cus_1"}`, string(env.Data))
	require.Equal(t, "application/json", h.Get("Content-Type"))

	wh, err := standardwebhooks.NewWebhook(e.Secret)
	require.NoError(t, err)
	require.NoError(t, wh.Verify(got[0].body, h), "the specification's library accepts the signature")
	tampered := append([]byte(nil), got[0].body...)
	tampered[len(tampered)-2] = '0'
	require.ErrorIs(t, wh.Verify(tampered, h), standardwebhooks.ErrNoMatchingSignature)

	d := f.deliveries(e)
	require.Len(t, d, 1)
	require.Equal(t, webhooks.Delivered, d[0].Status)
	require.Equal(t, 1, d[0].Attempts)
	require.Equal(t, 200, *d[0].LastStatusCode)
	require.Nil(t, d[0].NextAttemptAt)
}

// A receiver answering 500, 500, then 200 gets three attempts, 5 s then 10 s apart by the
// pool's clock; nothing is sent before a retry is due.
func TestRetriesWithBackoff(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t, 500, 500, 200)
	e := f.endpoint(r.URL, webhooks.MRRChanged)
	c := newClock()
	t0 := c.Now()
	f.record(t0, webhooks.Event{Type: webhooks.MRRChanged, Data: 1})
	p := f.pool(c, allowPrivate)

	require.Equal(t, 1, runOnce(t, p))
	d := f.deliveries(e)[0]
	require.Equal(t, webhooks.Pending, d.Status)
	require.Equal(t, 1, d.Attempts)
	require.Equal(t, 500, *d.LastStatusCode)
	require.Equal(t, "HTTP 500", *d.LastError)
	require.Equal(t, t0.Add(5*time.Second), d.NextAttemptAt.UTC())

	c.set(t0.Add(5*time.Second - time.Microsecond))
	require.Equal(t, 0, runOnce(t, p), "not due before its backoff")
	c.set(t0.Add(5 * time.Second))
	require.Equal(t, 1, runOnce(t, p))
	d = f.deliveries(e)[0]
	require.Equal(t, 2, d.Attempts)
	require.Equal(t, t0.Add(15*time.Second), d.NextAttemptAt.UTC(), "the second wait is 10 s")

	c.set(t0.Add(15 * time.Second))
	require.Equal(t, 1, runOnce(t, p))
	d = f.deliveries(e)[0]
	require.Equal(t, webhooks.Delivered, d.Status)
	require.Equal(t, 3, d.Attempts)
	require.Nil(t, d.NextAttemptAt)

	got := r.requests()
	require.Len(t, got, 3)
	var stamps []string
	for _, g := range got {
		stamps = append(stamps, g.header.Get("webhook-timestamp"))
		require.Equal(t, got[0].header.Get("webhook-id"), g.header.Get("webhook-id"), "one id for every attempt")
	}
	require.Equal(t, []string{unix(t0), unix(t0.Add(5 * time.Second)), unix(t0.Add(15 * time.Second))}, stamps)
}

// A receiver that never answers is tried on the backoff schedule (5 s doubling to 1 h) until
// the next attempt would fall past 24 h after the event; the delivery is then failed, in the log.
func TestFailedAfterRetryWindow(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	url := r.URL
	r.Close() // down: connections are refused
	e := f.endpoint(url, webhooks.ImportCompleted)
	c := newClock()
	t0 := c.Now()
	f.record(t0, webhooks.Event{Type: webhooks.ImportCompleted, Subject: "x", Data: 1})
	p := f.pool(c, allowPrivate)

	var at []time.Duration
	for f.deliveries(e)[0].Status == webhooks.Pending {
		d := f.deliveries(e)[0]
		c.set(*d.NextAttemptAt)
		at = append(at, d.NextAttemptAt.Sub(t0))
		require.Equal(t, 1, runOnce(t, p))
		require.Less(t, len(at), 100, "a delivery stops being retried")
	}
	d := f.deliveries(e)[0]
	require.Equal(t, webhooks.Failed, d.Status)
	require.Nil(t, d.LastStatusCode)
	require.Contains(t, *d.LastError, "refused")
	require.Nil(t, d.NextAttemptAt)
	require.Equal(t, len(at), d.Attempts)

	want := []time.Duration{0}
	for wait := 5 * time.Second; want[len(want)-1]+wait <= 24*time.Hour; wait = min(2*wait, time.Hour) {
		want = append(want, want[len(want)-1]+wait)
	}
	require.Equal(t, want, at, "attempts at 0, 5 s, 15 s, 35 s, ... then hourly, all within 24 h")
}

// An event whose cause committed while no worker ran (the process was killed before delivering)
// is delivered by the next worker to start.
func TestDeliveredAfterRestart(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t, 200)
	e := f.endpoint(r.URL, webhooks.ImportCompleted)
	c := newClock()
	f.record(c.Now(), webhooks.Event{Type: webhooks.ImportCompleted, Subject: "imp", Data: 1})
	require.Empty(t, r.requests())
	require.Equal(t, webhooks.Pending, f.deliveries(e)[0].Status)

	require.Equal(t, 1, runOnce(t, f.pool(c, allowPrivate)), "a fresh pool finds it due")
	require.Len(t, r.requests(), 1)
	require.Equal(t, webhooks.Delivered, f.deliveries(e)[0].Status)
}

// Two pools running at once deliver each of many events exactly once.
func TestTwoWorkersDeliverOnce(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t, 200)
	e := f.endpoint(r.URL, webhooks.MRRChanged)
	const n = 60
	c := newClock()
	for i := range n {
		f.record(c.Now(), webhooks.Event{Type: webhooks.MRRChanged, Data: i})
	}
	var delivered sync.WaitGroup
	delivered.Add(n)
	ctx, cancel := context.WithCancel(context.Background())
	var running sync.WaitGroup
	for range 2 {
		p := webhooks.NewPool(f.db, webhooks.Config{Guard: allowPrivate, Now: c.Now, Workers: 2, BatchSize: 3,
			PollInterval: time.Millisecond})
		webhooks.OnSettled(p, func(status string) {
			if status == webhooks.Delivered {
				delivered.Done()
			}
		})
		running.Go(func() { p.Run(ctx) })
	}
	delivered.Wait()
	cancel()
	running.Wait()

	seen := map[string]int{}
	for _, g := range r.requests() {
		seen[g.header.Get("webhook-id")]++
	}
	require.Len(t, seen, n)
	for id, k := range seen {
		require.Equal(t, 1, k, "event %s delivered once", id)
	}
	for _, d := range f.deliveries(e) {
		require.Equal(t, webhooks.Delivered, d.Status)
		require.Equal(t, 1, d.Attempts)
	}
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// Deliveries are claimed account by account, the accounts in turn: with a batch of one, an
// account with one due event is served within two claims although another has ten queued.
func TestAccountsTakeTurns(t *testing.T) {
	big, small := newFixture(t), newFixture(t)
	r := newReceiver(t, 200)
	c := newClock()
	eBig, eSmall := big.endpoint(r.URL, webhooks.MRRChanged), small.endpoint(r.URL, webhooks.MRRChanged)
	for i := range 10 {
		big.record(c.Now(), webhooks.Event{Type: webhooks.MRRChanged, Subject: strconv.Itoa(i), Data: i})
	}
	small.record(c.Now(), webhooks.Event{Type: webhooks.MRRChanged, Data: "small"})
	p := webhooks.NewPool(big.db, webhooks.Config{Guard: allowPrivate, Now: c.Now, Workers: 1, BatchSize: 1,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})

	require.Equal(t, 1, runOnce(t, p))
	require.Equal(t, 1, runOnce(t, p))
	require.Equal(t, webhooks.Delivered, small.deliveries(eSmall)[0].Status, "the small account was served")
	delivered := 0
	for _, d := range big.deliveries(eBig) {
		if d.Status == webhooks.Delivered {
			delivered++
		}
	}
	require.Equal(t, 1, delivered, "the large account got the other claim")
}
