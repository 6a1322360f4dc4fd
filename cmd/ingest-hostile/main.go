// Command ingest-hostile measures, from outside, what issue 10 ("nothing a client sends, floods or
// interrupts can hurt the service") promises: it runs the real invoice-ingest binary as a child
// process on a scratch database and plays the attacker and the operator against it.
//
//	go run ./cmd/ingest-hostile [-run rss,flood,freeze,sigterm] [-binary PATH] [-database-url URL]
//	go run ./cmd/ingest-hostile pgbouncer [-port N]   # a transaction-pooling PgBouncer for ingest-bench
//
// The scenarios (each on a fresh server; see docs/hardening.md for the method and the figures):
//
//   - rss: peak RSS (VmHWM) of the server while 1 and 8 NDJSON streams at once each send 999
//     lines of about 1 MiB of unknown fields (valid customer rows otherwise);
//   - flood: requests/s of a normal client's reads alone and during a flood of unknown keys
//     (random and repeated), from one client address and from many (127.0.x.y);
//   - freeze: the answers while the database, reached through a freezing TCP proxy
//     (models/dbtest/freezeproxy), answers nothing for 20 s, and the recovery after;
//   - sigterm: SIGTERM during an NDJSON stream and during JSON requests: statuses, the stream's
//     last line, the exit code.
//
// Every figure goes to stdout as a line; the last line is one JSON object with all of them.
// Progress and the server's own log lines go to stderr. Nothing here stops or signals PostgreSQL.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"invoice-ingest/internal/scratch"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "pgbouncer":
		err = runBouncer(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case len(os.Args) > 1 && os.Args[1] == "flood-worker":
		err = runFloodWorker(ctx, os.Args[2:], os.Stdout, os.Stderr)
	default:
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingest-hostile:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	serverURL string // maintenance database; the scratch database goes beside it
	binary    string
	run       []string
	// rss
	streams   []int
	lines     int
	lineBytes int
	// flood
	readers, floodWorkers int
	floodAddrs            []int
	phase                 time.Duration
	floodMax              int
	control               bool
	// freeze
	freeze, requestTimeout, after time.Duration
	// sigterm
	sigtermAfter time.Duration
}

var scenarios = []string{"rss", "flood", "freeze", "sigterm"}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	def := os.Getenv("PG_SERVER_URL")
	if def == "" {
		def = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	var c config
	var runList, streams, addrs string
	fs := flag.NewFlagSet("ingest-hostile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.serverURL, "database-url", def, "maintenance database URL of the PostgreSQL server (env PG_SERVER_URL); a scratch database is created beside it and dropped")
	fs.StringVar(&c.binary, "binary", "", "prebuilt invoice-ingest (default: go build ./cmd/invoice-ingest)")
	fs.StringVar(&runList, "run", strings.Join(scenarios, ","), "scenarios to run, comma-separated: "+strings.Join(scenarios, ","))
	fs.StringVar(&streams, "streams", "1,8", "rss: numbers of hostile streams at once, one fresh server each")
	fs.IntVar(&c.lines, "lines", 999, "rss: lines per hostile stream")
	fs.IntVar(&c.lineBytes, "line-bytes", 1<<20-1024, "rss: bytes per hostile line (the server's line limit is 1 MiB)")
	fs.IntVar(&c.readers, "readers", 4, "flood: concurrent readers of the normal client")
	fs.IntVar(&c.floodWorkers, "flood-workers", 32, "flood: goroutines sending unknown keys")
	fs.StringVar(&addrs, "flood-addrs", "1,64", "flood: numbers of client addresses (127.0.x.y) the flood comes from, one flood phase each")
	fs.DurationVar(&c.phase, "phase", 10*time.Second, "flood: length of each phase (alone, flood, alone, ...)")
	fs.IntVar(&c.floodMax, "flood-max", 500000, "flood: most requests of one flood phase")
	fs.BoolVar(&c.control, "control", true, "flood: also a control flood of GET /healthz (no key, no database) as fast, from one address")
	fs.DurationVar(&c.freeze, "freeze", 20*time.Second, "freeze: how long the database answers nothing")
	fs.DurationVar(&c.requestTimeout, "request-timeout", 5*time.Second, "freeze: REQUEST_TIMEOUT of the server")
	fs.DurationVar(&c.after, "after", 10*time.Second, "freeze: load after the thaw")
	fs.DurationVar(&c.sigtermAfter, "sigterm-after", 2*time.Second, "sigterm: load before the signal")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.run = strings.Split(runList, ",")
	var err error
	if c.streams, err = intList(streams); err != nil {
		return c, fmt.Errorf("-streams: %w", err)
	}
	if c.floodAddrs, err = intList(addrs); err != nil || slices.Max(c.floodAddrs) > 250*250 {
		return c, fmt.Errorf("-flood-addrs: positive integers up to 62500 (%v)", err)
	}
	for _, s := range c.run {
		if !slices.Contains(scenarios, s) {
			return c, fmt.Errorf("-run: unknown scenario %q (have %s)", s, strings.Join(scenarios, ","))
		}
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.lines < 1 || c.lineBytes < 200 || c.readers < 1 || c.floodWorkers < 1 || c.floodMax < 1:
		return c, errors.New("-lines, -readers, -flood-workers, -flood-max must be at least 1, -line-bytes at least 200")
	case c.phase <= 0 || c.freeze <= 0 || c.requestTimeout <= 0 || c.after <= 0 || c.sigtermAfter <= 0:
		return c, errors.New("durations must be positive")
	}
	return c, nil
}

func intList(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		var n int
		if _, err := fmt.Sscan(f, &n); err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// tool is one run's state.
type tool struct {
	cfg     config
	log     func(format string, args ...any)
	stderr  io.Writer
	stdout  io.Writer
	bin     string
	figures map[string]any
}

// run is the whole command; it never exits, so the smoke test can drive it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	stderr = &lockedWriter{w: stderr}
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	t := &tool{cfg: cfg, stderr: stderr, stdout: stdout, figures: map[string]any{}}
	t.log = func(format string, args ...any) { fmt.Fprintf(stderr, "ingest-hostile: "+format+"\n", args...) }
	tmp, err := os.MkdirTemp("", "ingest-hostile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if t.bin, err = scratch.Binary(ctx, cfg.binary, tmp, t.log); err != nil {
		return err
	}
	steps := map[string]func(context.Context) error{
		"rss": t.runRSS, "flood": t.runFlood, "freeze": t.runFreeze, "sigterm": t.runSigterm,
	}
	for _, s := range cfg.run {
		if err := steps[s](ctx); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return t.summary()
}

// figure prints one figure's line on stdout and keeps its value for the summary.
func (t *tool) figure(key string, value any, format string, args ...any) {
	t.figures[key] = value
	fmt.Fprintf(t.stdout, format+"\n", args...)
}

// lockedWriter serialises writes: progress lines and the children's stderr share it.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// summary prints every figure as one JSON object, the last line of stdout.
func (t *tool) summary() error {
	b, err := json.Marshal(t.figures)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(t.stdout, "%s\n", b)
	return err
}
