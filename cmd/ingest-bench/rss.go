package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// rssRows is the size of the measured request: INGEST_MAX_ROWS' default, the largest JSON
// request the server takes.
const rssRows = 10000

// vmHWM returns a process's peak resident set size in MiB (VmHWM of /proc/PID/status). The
// peak cannot be reset, hence a fresh server for each memory figure.
func vmHWM(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read peak RSS (Linux /proc only): %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmHWM %q: %w", v, err)
			}
			return float64(kb) / 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// runRSS measures what one 10,000-row JSON request adds to a fresh server's peak RSS: start a
// server, warm it up with one small request (connections, caches, code paths), read VmHWM, send
// the big request (all rows new: the heaviest path), read VmHWM again.
func (b *bench) runRSS(ctx context.Context) error {
	if err := b.reset(ctx); err != nil {
		return err
	}
	b.log("RSS: fresh server, one %d-row JSON request", rssRows)
	srv, err := b.startServer(ctx)
	if err != nil {
		return err
	}
	defer srv.stop()
	rows := genInvoices(rssRows+100, b.cfg.customers, 0)
	warm, big := rows[:100], rows[100:]
	if err := srv.postChecked(ctx, "/data/invoices", jsonArray(warm, "bench"), warm, len(warm), "inserted"); err != nil {
		return err
	}
	before, err := vmHWM(srv.pid())
	if err != nil {
		return err
	}
	if err := srv.postChecked(ctx, "/data/invoices", jsonArray(big, "bench"), big, len(big), "inserted"); err != nil {
		return err
	}
	after, err := vmHWM(srv.pid())
	if err != nil {
		return err
	}
	b.rss = &rssResult{before: before, after: after}
	return nil
}

// rssResult is the peak RSS of the server before and after the big request, MiB.
type rssResult struct{ before, after float64 }
