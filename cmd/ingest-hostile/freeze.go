package main

import (
	"context"
	"fmt"
	"net/http"
	neturl "net/url"
	"sync"
	"time"

	"invoice-ingest/models/dbtest/freezeproxy"
)

// Clients of the freeze scenario: writers and readers in loops, and a /readyz poller.
const (
	freezeWriters = 8
	freezeReaders = 8
)

// record is one answer of the freeze scenario, by kind of request.
type record struct {
	kind string // write, read, readyz
	answer
}

// recorder keeps every answer.
type recorder struct {
	mu   sync.Mutex
	recs []record
}

func (r *recorder) add(kind string, a answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, record{kind, a})
}

// runFreeze points the server at the database through a freezing proxy, freezes the proxy for
// -freeze while writers, readers and a /readyz poller run, thaws it, and keeps the load for -after
// more; then, under a fresh load, it freezes it again and sends SIGTERM 3 s into that freeze. PostgreSQL itself is never touched: only
// this server's connections go through the proxy.
func (t *tool) runFreeze(ctx context.Context) error {
	url, keys, drop, err := t.scratch(ctx, 1)
	if err != nil {
		return err
	}
	defer drop()
	u, _ := neturl.Parse(url)
	target := u.Host
	if u.Port() == "" {
		target += ":5432"
	}
	proxy, err := freezeproxy.Start(target)
	if err != nil {
		return err
	}
	defer proxy.Close()
	u.Host = proxy.Addr
	t.log("freeze: server on the database through %s, REQUEST_TIMEOUT=%s", proxy.Addr, t.cfg.requestTimeout)
	srv, err := t.startServe(ctx, u.String(), "REQUEST_TIMEOUT="+t.cfg.requestTimeout.String(),
		"RATE_LIMIT_READS=0", "RATE_LIMIT_WRITES=0")
	if err != nil {
		return err
	}
	defer srv.kill()
	if err := createSource(ctx, srv.base, keys[0]); err != nil {
		return err
	}
	rec := &recorder{}
	loadCtx, stopLoad := context.WithCancel(ctx)
	wg := freezeLoad(loadCtx, srv.base, keys[0], rec)
	time.Sleep(3 * time.Second)
	frozen := time.Now()
	proxy.Freeze()
	t.log("freeze: frozen for %s", t.cfg.freeze)
	time.Sleep(t.cfg.freeze)
	thawed := time.Now()
	proxy.Thaw()
	t.log("freeze: thawed")
	time.Sleep(t.cfg.after)
	stopLoad()
	wg.Wait()
	end := time.Now()
	// Then SIGTERM during a second freeze, under a load of its own.
	loadCtx, stopLoad = context.WithCancel(ctx)
	wg = freezeLoad(loadCtx, srv.base, keys[0], &recorder{})
	proxy.Freeze()
	time.Sleep(3 * time.Second)
	code, secs := srv.terminate()
	stopLoad()
	wg.Wait()
	proxy.Thaw()
	t.freezeReport(rec, frozen, thawed, end)
	t.figure("freeze_sigterm_exit_code", code, "freeze: SIGTERM 3 s into a second freeze, under the same load: exit code %d after %.1f s", code, secs)
	t.figures["freeze_sigterm_exit_s"] = round1(secs)
	return nil
}

// freezeLoad starts the writers, readers and /readyz poller; they run until ctx ends.
func freezeLoad(ctx context.Context, base, key string, rec *recorder) *sync.WaitGroup {
	var wg sync.WaitGroup
	c := newClient(nil, 60*time.Second) // a request still open after 60 s counts as hung
	for w := range freezeWriters {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				body := customersBody(fmt.Sprintf("f%d_", w), 10, fmt.Sprintf("v%d", i))
				if a := do(ctx, c, "POST", base+"/data/customers", key, "application/json", body); a.err != "canceled" {
					rec.add("write", a)
				}
			}
		})
	}
	for range freezeReaders {
		wg.Go(func() {
			for ctx.Err() == nil {
				if a := do(ctx, c, "GET", base+"/data/customers?source=stripe&limit=50", key, "", nil); a.err != "canceled" {
					rec.add("read", a)
				}
			}
		})
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			if a := do(ctx, c, "GET", base+"/readyz", "", "", nil); a.err != "canceled" {
				rec.add("readyz", a)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return &wg
}

// freezeReport prints, per phase (by when a request was sent) and kind, the answers and the
// largest latency, and how long after the thaw writes and reads answered 200 again.
func (t *tool) freezeReport(rec *recorder, frozen, thawed, end time.Time) {
	phases := []struct {
		name     string
		from, to time.Time
	}{{"before", time.Time{}, frozen}, {"frozen", frozen, thawed}, {"after", thawed, end}}
	late := t.cfg.requestTimeout + time.Second
	for _, ph := range phases {
		for _, kind := range []string{"write", "read", "readyz"} {
			tl, over, okFrozen := newTally(), 0, 0
			for _, r := range rec.recs {
				if r.kind == kind && !r.start.Before(ph.from) && r.start.Before(ph.to) {
					tl.add(r.answer)
					if r.dur > late {
						over++
					}
					if r.status == http.StatusOK && r.start.Add(r.dur).After(frozen) && r.start.Add(r.dur).Before(thawed) {
						okFrozen++
					}
				}
			}
			key := fmt.Sprintf("freeze_%s_%s", ph.name, kind)
			t.figure(key+"_max_s", round2(tl.quantile(1).Seconds()), "freeze: %-6s %-6s sent %4d: %s; max latency %.2f s, p50 %.3f s, %d over %s; %d answered 200 while frozen",
				ph.name, kind, tl.total(), tl, tl.quantile(1).Seconds(), tl.quantile(0.5).Seconds(), over, late, okFrozen)
			t.figures[key+"_answers"] = tl.counted()
		}
	}
	for _, kind := range []string{"write", "read"} {
		first := time.Duration(-1)
		for _, r := range rec.recs {
			if at := r.start.Add(r.dur).Sub(thawed); r.kind == kind && r.status == http.StatusOK && at >= 0 &&
				r.start.Before(end) && (first < 0 || at < first) {
				first = at
			}
		}
		t.figure("freeze_recovery_"+kind+"_s", round2(first.Seconds()), "freeze: first %s answered 200 %.2f s after the thaw", kind, first.Seconds())
	}
}
