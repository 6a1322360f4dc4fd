package main

import (
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// child is a running invoice-ingest process.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	once sync.Once
}

// startChild runs the binary on the scratch database with LOG_LEVEL=warn (no access log lines
// competing for the CPU) plus env; its output goes to our stderr, never to stdout.
func (b *bench) startChild(args []string, env ...string) (*child, error) {
	cmd := exec.Command(b.bin, args...)
	// No limits: the tool measures throughput, not admission control. Every child may deliver
	// webhooks (each runs delivery workers), and the -webhook-latency receiver listens on
	// 127.0.0.1: a child refusing it would fail the attempts it claims, and their 5 s backoff
	// would be measured as latency.
	cmd.Env = append(os.Environ(), "DATABASE_URL="+b.url, "LOG_LEVEL=warn", "METRICS_ADDR=127.0.0.1:0",
		"RATE_LIMIT_WRITES=0", "RATE_LIMIT_READS=0", "MAX_INFLIGHT_WRITES=0", "WEBHOOK_ALLOW_PRIVATE=true")
	cmd.Env = append(cmd.Env, env...) // later duplicates win
	cmd.Stdout, cmd.Stderr = b.stderr, b.stderr
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() { c.err = cmd.Wait(); close(c.done) }()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the process has ended, and how.
func (c *child) exited() (bool, error) {
	select {
	case <-c.done:
		return true, c.err
	default:
		return false, nil
	}
}

// stop asks the process to shut down gracefully (SIGTERM), and kills it if it takes too long.
func (c *child) stop() {
	c.once.Do(func() {
		if done, _ := c.exited(); done {
			return
		}
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
}
