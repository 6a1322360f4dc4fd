package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// freshnessResult is the delay from each probe write's answer to the first read of its customer
// whose metrics show it.
type freshnessResult struct {
	delays []time.Duration
}

// quantile returns the q-quantile of the delays in milliseconds (1 = the maximum).
func (f *freshnessResult) quantile(q float64) float64 {
	if len(f.delays) == 0 {
		return 0
	}
	d := slices.Clone(f.delays)
	slices.Sort(d)
	i := min(int(q*float64(len(d))), len(d)-1)
	return float64(d[i].Microseconds()) / 1000
}

// runFreshness measures what SPEC section 5 promises a reader: after a write, how long until the
// customer's metrics reflect it. A fresh server runs with 2 recalculation workers; one loader
// posts -batch-row requests at -freshness-rate rows/s (alternating versions, so every row is an
// update and every customer is re-queued), while a probe writes one invoice of its own customer
// every 200 ms and polls that customer until revenue shows the new amount and stale is false.
func (b *bench) runFreshness(ctx context.Context, rows, changed []invoice) error {
	if b.cfg.freshness == 0 {
		return nil
	}
	if err := b.reset(ctx); err != nil {
		return err
	}
	b.log("freshness: fresh server with 2 workers, %d rows/s of load for %s", b.cfg.freshnessRate, b.cfg.freshness)
	srv, err := b.startServerWorkers(ctx, 2)
	if err != nil {
		return err
	}
	defer srv.stop()
	var hooks *webhookLatency
	if b.cfg.webhookLatency {
		if hooks, err = startWebhookLatency(ctx, srv); err != nil {
			return err
		}
		defer func() { b.webhooks, b.webhooksMissing = hooks.result() }()
	}
	probe := `{"id": "probe", "data_source": "bench", "name": "probe"}`
	res, err := srv.post(ctx, "/data/customers", "application/json", strings.NewReader(probe))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()

	// stop ends the measurement; the writes under way then still finish (on ctx): a request cut
	// off mid-way would be a client gone to the server, and tell nothing about it.
	stop, cancel := context.WithTimeout(ctx, b.cfg.freshness)
	defer cancel()
	versions := [][]invoice{rows, changed}
	loadDone := make(chan error, 1)
	go func() { loadDone <- b.steadyLoad(stop, ctx, srv, versions) }()

	f := &freshnessResult{}
	for k := 1; stop.Err() == nil; k++ {
		d, err := probeOnce(stop, ctx, srv, int64(k))
		if stop.Err() != nil {
			break
		}
		if err != nil {
			return err
		}
		f.delays = append(f.delays, d)
		select {
		case <-stop.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err := <-loadDone; err != nil {
		return err
	}
	b.fresh = f
	return nil
}

// steadyLoad posts batches (on ctx) at the configured rate until stop ends.
func (b *bench) steadyLoad(stop, ctx context.Context, srv *server, versions [][]invoice) error {
	batch := b.cfg.batch
	every := time.Duration(float64(time.Second) * float64(batch) / float64(b.cfg.freshnessRate))
	tick := time.NewTicker(every)
	defer tick.Stop()
	n := len(versions[0])
	for i := 0; ; i++ {
		start := (i * batch) % n
		part := versions[(i*batch/n)%2][start:min(start+batch, n)]
		res, err := srv.post(ctx, "/data/invoices", "application/json", bytes.NewReader(jsonArray(part, "bench")))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("load request: %s", res.Status)
		}
		select {
		case <-stop.Done():
			return nil
		case <-tick.C:
		}
	}
}

// probeOnce writes one invoice worth k cents to the probe customer (replacing the last one) and
// returns how long after the write's answer the customer's metrics first show revenue k; it
// writes on ctx and stops waiting when stop ends.
func probeOnce(stop, ctx context.Context, srv *server, k int64) (time.Duration, error) {
	inv := `{"id": "probe-1", "customer_id": "probe", "data_source": "bench", "type": "one-time", "date": "2024-01-01",
		"amount_cents": ` + strconv.FormatInt(k, 10) + `, "currency": "USD", "start_date": "2024-01-01", "end_date": "2024-01-01"}`
	res, err := srv.post(ctx, "/data/invoices", "application/json", strings.NewReader(inv))
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("probe write: %s", res.Status)
	}
	written := time.Now()
	for stop.Err() == nil {
		req, _ := http.NewRequestWithContext(stop, "GET", srv.base+"/data/customers/probe?source=bench", nil)
		req.Header.Set("Authorization", "Bearer "+srv.key)
		res, err := srv.client.Do(req)
		if err != nil {
			return 0, err
		}
		var body struct {
			Result struct {
				Metrics []struct {
					RevenueCents int64 `json:"revenue_cents"`
					Stale        bool  `json:"stale"`
				} `json:"metrics"`
			} `json:"result"`
		}
		err = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if err != nil {
			return 0, err
		}
		if m := body.Result.Metrics; len(m) == 1 && m[0].RevenueCents == k && !m[0].Stale {
			return time.Since(written), nil
		}
		time.Sleep(5 * time.Millisecond) // a client polling; the server offers nothing to wait on
	}
	return 0, stop.Err()
}
