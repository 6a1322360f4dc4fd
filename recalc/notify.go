package recalc

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Wake-up on commit. Enqueue announces each outbox row on NotifyChannel in the writer's
// transaction, so PostgreSQL delivers the announcement exactly when the write commits. A pool given
// Config.Listen keeps one dedicated connection (outside the shared pool: a LISTEN belongs to a
// session) listening on it; each notification puts the account it names at the front of the
// rotation, if it was not being served already, and wakes the pool's idle claim loops. Polling every
// PollInterval stays as the fallback: for writes that do not announce themselves (triggers of
// older migrations), retries whose backoff ends, and whatever was committed while the connection
// was down. A lost connection is reopened with a growing backoff, and each (re)connection wakes the
// loops once, since announcements made while nobody listened are gone.

// NotifyChannel is the channel Enqueue notifies; the payload is the account's id.
const NotifyChannel = "recalc_outbox"

// listenBackoff is the first wait before reopening a lost LISTEN connection; it doubles with each
// attempt that fails before a notification arrives, up to maxIdle.
const listenBackoff = 100 * time.Millisecond

// ListenConn opens the dedicated connection a pool LISTENs on: pgx.Connect(ctx, url) for a direct
// connection to PostgreSQL. Through a transaction-pooling PgBouncer a LISTEN is lost as soon as its
// statement ends, so it must name PostgreSQL itself, or not be given at all (polling only).
type ListenConn func(ctx context.Context) (*pgx.Conn, error)

// waker wakes every idle claim loop at once, and coalesces: any number of wakes while a loop is
// busy make it look once more when it is done, not once per wake.
type waker struct {
	mu sync.Mutex
	ch chan struct{} // closed by the next wake; nil until a loop asks for it
}

// armed returns a channel closed by the next wake. A loop takes it before it looks for work, so a
// wake that arrives while it looks is not lost.
func (w *waker) armed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

// wake wakes the loops waiting on the armed channel.
func (w *waker) wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
}

// idle waits d, until woken, or until ctx is done.
func (p *Pool) idle(ctx context.Context, d time.Duration, woken <-chan struct{}) {
	select {
	case <-woken:
		return // a write committed since the loop last looked: look again at once
	default:
	}
	if p.hooks.idle != nil {
		p.hooks.idle()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-woken:
	}
}

// listen keeps the LISTEN connection open until ctx ends, reopening it after a loss.
func (p *Pool) listen(ctx context.Context) {
	failures := 0
	for ctx.Err() == nil {
		err := p.listenOnce(ctx, &failures)
		if ctx.Err() != nil {
			return
		}
		failures++
		wait := min(listenBackoff<<min(failures-1, 16), maxIdle)
		p.cfg.Log.Warn("recalc: LISTEN connection lost; polling until it is back",
			"err", err, "retry_in", wait, "poll_interval", p.cfg.PollInterval)
		if p.hooks.unlistened != nil {
			p.hooks.unlistened(err)
		}
		sleep(ctx, wait)
	}
}

// listenOnce opens the connection, LISTENs and handles notifications until the connection fails
// or ctx ends. failures is reset by the first notification: a connection that fails again right
// after opening keeps backing off.
func (p *Pool) listenOnce(ctx context.Context, failures *int) error {
	conn, err := p.cfg.Listen(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return fmt.Errorf("LISTEN: %w", err)
	}
	if *failures > 0 {
		p.cfg.Log.Info("recalc: LISTEN connection back")
	}
	// Writes committed while nobody listened were announced to no one.
	p.wake.wake()
	if p.hooks.listening != nil {
		p.hooks.listening()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		*failures = 0
		p.notified(n.Payload)
	}
}

// notified handles one notification: payload is an account's id, followed by "/" and an outbox
// row's id for the express lane (see Enqueue). Its account joins the rotation, and the row the
// express lane; idle claim loops wake unless the express lane took the row (racing it for the
// same customers would only duplicate its statements).
func (p *Pool) notified(payload string) {
	acc, row, _ := strings.Cut(payload, "/")
	if account, err := uuid.Parse(acc); err == nil {
		p.rot.arrive(account)
		if id, err := strconv.ParseInt(row, 10, 64); err == nil && expressFoldSQL != foldSQL && p.express.add(account, id) {
			return
		}
	}
	p.wake.wake()
}
