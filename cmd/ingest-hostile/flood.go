package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// runFlood measures a normal client's reads per second alone and during floods of unknown keys,
// alternating: alone, flood from -flood-addrs[0] addresses, alone, flood from the next, ..., alone.
// The normal client reads from 127.0.0.1; a flood comes from 127.0.1.1, 127.0.1.2, ... so that
// the limit on failed authentication per client address sees the flood's addresses, not the
// normal client's. The server runs with its defaults except RATE_LIMIT_READS=0 (the normal
// client's own read bucket, 200/s, would otherwise cap what is measured) and RECALC_WORKERS=0.
func (t *tool) runFlood(ctx context.Context) error {
	url, keys, drop, err := t.scratch(ctx, 1)
	if err != nil {
		return err
	}
	defer drop()
	srv, err := t.startServe(ctx, url, "RECALC_WORKERS=0", "RATE_LIMIT_READS=0")
	if err != nil {
		return err
	}
	defer srv.kill()
	if err := createSource(ctx, srv.base, keys[0]); err != nil {
		return err
	}
	if a := do(ctx, newClient(nil, time.Minute), "POST", srv.base+"/data/customers", keys[0], "application/json",
		customersBody("cus_", 1000, "Normal")); a.status != http.StatusOK {
		return fmt.Errorf("seeding customers: %s", a.label())
	}
	specs := []floodSpec{}
	for _, a := range t.cfg.floodAddrs {
		specs = append(specs, floodSpec{addrs: a})
	}
	if t.cfg.control {
		specs = append(specs, floodSpec{addrs: 1, control: true})
	}
	var alone, cpus []float64
	for i := 0; ; i++ {
		r, _, _, cpu, err := t.floodPhase(ctx, srv, keys[0], floodSpec{})
		if err != nil {
			return err
		}
		alone, cpus = append(alone, r), append(cpus, cpu)
		t.log("flood: normal client alone: %.0f reads/s (server CPU %.2f s/s)", r, cpu)
		if i == len(specs) {
			break
		}
		during, reads, flood, cpu, err := t.floodPhase(ctx, srv, keys[0], specs[i])
		if err != nil {
			return err
		}
		before := alone[len(alone)-1]
		key, what := fmt.Sprintf("flood_%d_addrs", specs[i].addrs), fmt.Sprintf("unknown keys from %d address(es)", specs[i].addrs)
		if specs[i].control {
			key, what = "flood_control_healthz", "GET /healthz (control: no key, no database)"
		}
		t.figure(key+"_reads_per_s", round1(during), "flood: normal client (%d readers): %.0f reads/s alone, %.0f during a flood of %s "+
			"(ratio %.2f); its answers %s; flood (%d goroutines, another process): %.0f requests/s, answered %s; server CPU %.2f s/s",
			t.cfg.readers, before, during, what, during/before, reads, t.cfg.floodWorkers,
			float64(flood.total())/t.cfg.phase.Seconds(), flood, cpu)
		t.figures[key+"_ratio"] = round2(during / before)
		t.figures[key+"_flood_answers"] = flood.counted()
		t.figures[key+"_normal_answers"] = reads.counted()
		t.figures[key+"_server_cpu"] = round2(cpu)
	}
	t.figures["flood_alone_server_cpu"] = roundAll(cpus)
	t.figures["flood_alone_reads_per_s"] = roundAll(alone)
	code, _ := srv.terminate()
	t.log("flood: server exit code %d", code)
	return nil
}

// floodSpec is one flood: unknown keys from addrs client addresses, or (control) GET /healthz
// without a key. The zero value is no flood.
type floodSpec struct {
	addrs   int
	control bool
}

// floodPhase runs the normal client's readers for one phase, with a flood (a flood-worker
// process) when spec.addrs > 0. It returns the normal client's successful
// reads per second, its answers, the flood's, and the server's CPU seconds per second.
func (t *tool) floodPhase(ctx context.Context, srv *serve, key string, spec floodSpec) (float64, *tally, *tally, float64, error) {
	var wait func() (*tally, float64, error)
	if spec.addrs > 0 {
		var err error
		if wait, err = t.startFlood(srv.base, spec); err != nil {
			return 0, nil, nil, 0, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.phase)
	defer cancel()
	reads := newTally()
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), cpuSeconds(srv.pid())
	url := srv.base + "/data/customers?source=stripe&limit=100"
	normal := newClient(nil, 10*time.Second)
	for range t.cfg.readers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if a := do(ctx, normal, "GET", url, key, "", nil); a.err != "canceled" {
					reads.add(a)
				}
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	cpu := (cpuSeconds(srv.pid()) - cpu0) / secs
	flood := newTally()
	if wait != nil {
		var err error
		var floodCPU float64
		if flood, floodCPU, err = wait(); err != nil {
			return 0, nil, nil, 0, err
		}
		t.log("flood: the flood process used %.2f CPU s/s", floodCPU/secs)
	}
	return float64(reads.count("200")) / secs, reads, flood, cpu, nil
}

// floodWorker sends GETs with unknown keys from address from, every other one random, the
// rest from repeated, until ctx ends or the budget is spent.
// With control it sends GET /healthz without a key instead.
func floodWorker(ctx context.Context, base string, from net.IP, repeated []string, control bool, budget *atomic.Int64, out *tally) {
	c := newClient(from, 10*time.Second)
	for i := 0; ctx.Err() == nil && budget.Add(-1) >= 0; i++ {
		key, url := randomKey(), base+"/data/customers?source=stripe"
		if i%2 == 1 {
			key = repeated[i/2%len(repeated)]
		}
		if control {
			key, url = "", base+"/healthz"
		}
		if a := do(ctx, c, "GET", url, key, "", nil); a.err != "canceled" {
			out.add(a)
		}
	}
}

// floodAddr is the k-th flood address: 127.0.1.1, 127.0.1.2, ... (never 127.0.0.1).
func floodAddr(k int) net.IP { return net.IPv4(127, 0, byte(1+k/250), byte(1+k%250)) }

// randomKey has the shape of an API key (ik_ and 43 characters), so it is looked up.
func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "ik_" + base64.RawURLEncoding.EncodeToString(b)
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

func roundAll(fs []float64) []float64 {
	out := make([]float64, len(fs))
	for i, f := range fs {
		out[i] = round1(f)
	}
	return out
}
