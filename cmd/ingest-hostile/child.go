package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"invoice-ingest/internal/scratch"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// scratch creates a migrated scratch database with accounts accounts, and returns its URL, the
// accounts' keys and what drops it (see scratch.Drop).
func (t *tool) scratch(ctx context.Context, accounts int) (url string, keys []string, drop func(), err error) {
	name, url, err := scratch.Create(ctx, t.cfg.serverURL, "ingest_hostile_")
	if err != nil {
		return "", nil, nil, err
	}
	drop = func() {
		if err := scratch.Drop(t.cfg.serverURL, name); err != nil {
			t.log("could not drop %s: %v", name, err)
		}
	}
	if out, err := t.command(ctx, url, "migrate").CombinedOutput(); err != nil {
		drop()
		return "", nil, nil, fmt.Errorf("migrate: %v: %s", err, out)
	}
	t.log("scratch database %s", name)
	if keys, err = t.createAccounts(ctx, url, accounts); err != nil {
		drop()
		return "", nil, nil, err
	}
	return url, keys, drop, nil
}

// command is the binary with args on database dbURL, logging at warn.
func (t *tool) command(ctx context.Context, dbURL string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, t.bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "LOG_LEVEL=warn")
	return cmd
}

// createAccounts runs `accounts create` n times and returns the keys.
func (t *tool) createAccounts(ctx context.Context, dbURL string, n int) ([]string, error) {
	var keys []string
	for i := range n {
		cmd := t.command(ctx, dbURL, "accounts", "create", "--name", "hostile"+strconv.Itoa(i))
		cmd.Stderr = t.stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("accounts create: %w", err)
		}
		var v struct {
			APIKey string `json:"api_key"`
		}
		if err := json.Unmarshal(out, &v); err != nil || v.APIKey == "" {
			return nil, fmt.Errorf("accounts create printed %q: %v", out, err)
		}
		keys = append(keys, v.APIKey)
	}
	return keys, nil
}

// serve is a running `invoice-ingest serve`.
type serve struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	base string
}

// startServe runs serve on a free loopback port against dbURL with LOG_LEVEL=warn, no metrics
// listener, plus env (later values win), and waits until it holds the port and answers /readyz.
// A child that exits before it is ready is started again on another port (scratch.OnFreePort).
func (t *tool) startServe(ctx context.Context, dbURL string, env ...string) (*serve, error) {
	return scratch.OnFreePort(func(addr string) (*serve, error) { return t.startServeOn(ctx, addr, dbURL, env...) })
}

// startServeOn is startServe on addr.
func (t *tool) startServeOn(ctx context.Context, addr, dbURL string, env ...string) (*serve, error) {
	cmd := exec.Command(t.bin, "serve")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "HTTP_ADDR="+addr, "LOG_LEVEL=warn", "METRICS_ADDR=")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = t.stderr, t.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // no server outlives the tool
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &serve{cmd: cmd, done: make(chan struct{}), base: "http://" + addr}
	go func() { s.err = cmd.Wait(); close(s.done) }()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("%w: %v", scratch.ErrExitedEarly, s.err)
		default:
		}
		if res, err := client.Get(s.base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK && scratch.Listening(s.pid(), addr) {
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.kill()
			return nil, fmt.Errorf("server not ready after 60 s (%v)", ctx.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *serve) pid() int { return s.cmd.Process.Pid }

// terminate sends SIGTERM and waits (at most 60 s, then SIGKILL) for the exit; it returns the
// exit code (-1 when killed) and the seconds from the signal to the exit.
func (s *serve) terminate() (code int, secs float64) {
	start := time.Now()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		s.kill()
	}
	secs = time.Since(start).Seconds()
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		return ee.ExitCode(), secs
	}
	return 0, secs
}

// kill ends the process (SIGKILL) if it still runs.
func (s *serve) kill() {
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// procStatus returns a field of /proc/PID/status in MiB (VmHWM: peak RSS, VmRSS: RSS now).
func procStatus(pid int, field string) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read %s (Linux /proc only): %w", field, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse %s %q: %w", field, v, err)
			}
			return float64(kb) / 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
