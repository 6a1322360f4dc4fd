package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"golang.org/x/term"

	"invoice-ingest/client"
)

// exitError ends the process with its own status: push and sync use 1 for rows in error and 3
// for giving up (SPEC 8).
type exitError struct {
	code int
	msg  string
}

func (x exitError) Error() string { return x.msg }

// clientHooks are what the tests of push and sync replace: the clock, the progress ticker, the
// client's waits, standard input and whether standard error is a terminal.
type clientHooks struct {
	now      func() time.Time
	ticks    <-chan time.Time
	sleep    func(ctx context.Context, d time.Duration) error
	stdin    io.Reader
	terminal bool
}

// clientMemoryLimit is the soft heap limit of push and sync (unless GOMEMLIMIT is set): the
// garbage collector works harder near it, keeping a client's peak RSS small whatever the file's
// size (README Performance).
const clientMemoryLimit = 40 << 20

// limitMemory sets clientMemoryLimit unless the environment sets GOMEMLIMIT.
func limitMemory(e env) {
	if _, set := e.lookup("GOMEMLIMIT"); !set && e.hooks == nil {
		debug.SetMemoryLimit(clientMemoryLimit)
	}
}

// hooksOf returns e's hooks, the real ones when e has none.
func hooksOf(e env) *clientHooks {
	if e.hooks != nil {
		return e.hooks
	}
	f, isFile := e.stderr.(*os.File)
	return &clientHooks{now: time.Now, stdin: os.Stdin, terminal: isFile && term.IsTerminal(int(f.Fd()))}
}

// tickEvery returns h's ticks, or a real ticker of period d and its stop.
func (h *clientHooks) tickEvery(d time.Duration) (<-chan time.Time, func()) {
	if h.ticks != nil {
		return h.ticks, func() {}
	}
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// serviceFlags are the flags of the commands that talk to a running service.
type serviceFlags struct {
	url, key *string
}

func addServiceFlags(f *flags) serviceFlags {
	return serviceFlags{
		url: f.String("url", "", "the service's address (default $INGEST_URL, else "+client.DefaultURL+")"),
		key: f.String("key", "", "the API key (default $INGEST_API_KEY)"),
	}
}

// client builds the service's client from the flags and the environment; retries are reported
// on stderr so that no wait is silent.
func (s serviceFlags) client(f *flags, e env, h *clientHooks) (*client.Client, error) {
	url, key := *s.url, *s.key
	if url == "" {
		url, _ = e.lookup("INGEST_URL")
	}
	if url == "" {
		url = client.DefaultURL
	}
	if key == "" {
		key, _ = e.lookup("INGEST_API_KEY")
	}
	if key == "" {
		return nil, f.fail("an API key is needed: --key or INGEST_API_KEY")
	}
	c := client.New(url, key)
	if h.sleep != nil {
		c.Sleep = h.sleep
	}
	c.OnRetry = func(ev client.RetryEvent) {
		fmt.Fprintf(e.stderr, "retrying %s %s in %.1f s (attempt %d failed: %v)\n", ev.Method, ev.Path, ev.Wait.Seconds(), ev.Attempt, ev.Err)
	}
	return c, nil
}
