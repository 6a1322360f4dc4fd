package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// runFloodWorker is the hidden `ingest-hostile flood-worker` command: the flood of one phase, in a
// process of its own, so that its goroutines do not share a Go scheduler with the normal client
// it is measured against. It prints its answers' counts as one JSON object.
func runFloodWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingest-hostile flood-worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base", "", "the server's base URL")
	addrs := fs.Int("addrs", 1, "client addresses")
	workers := fs.Int("workers", 32, "goroutines")
	dur := fs.Duration("duration", 10*time.Second, "how long")
	limit := fs.Int64("max", 500000, "most requests")
	control := fs.Bool("control", false, "GET /healthz without a key instead of unknown keys")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	var budget atomic.Int64
	budget.Store(*limit)
	repeated := make([]string, 16)
	for i := range repeated {
		repeated[i] = randomKey()
	}
	out := newTally()
	var wg sync.WaitGroup
	for w := range *workers {
		wg.Go(func() { floodWorker(ctx, *base, floodAddr(w%*addrs), repeated, *control, &budget, out) })
	}
	wg.Wait()
	return json.NewEncoder(stdout).Encode(out.counted())
}

// startFlood runs a flood-worker process for one phase; wait returns its answers' counts and
// the CPU seconds the flood process used.
func (t *tool) startFlood(base string, spec floodSpec) (wait func() (*tally, float64, error), err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "flood-worker", "-base", base, "-addrs", strconv.Itoa(spec.addrs), "-control="+strconv.FormatBool(spec.control),
		"-workers", strconv.Itoa(t.cfg.floodWorkers), "-duration", t.cfg.phase.String(), "-max", strconv.Itoa(t.cfg.floodMax))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, t.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return func() (*tally, float64, error) {
		if err := cmd.Wait(); err != nil {
			return nil, 0, fmt.Errorf("flood-worker: %w", err)
		}
		cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
		tl := newTally()
		if err := json.Unmarshal([]byte(out.String()), &tl.counts); err != nil {
			return nil, 0, fmt.Errorf("flood-worker printed %q: %w", out.String(), err)
		}
		return tl, cpu, nil
	}, nil
}

// cpuSeconds is the user+system CPU time process pid has used (/proc/PID/stat, 100 ticks/s).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from the 3rd on
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}
