package webhooks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The retry schedule (SPEC 9): the n-th failed attempt waits FirstRetry·2^(n-1), at most
// MaxRetry, before the next; an attempt that would come later than RetryWindow after the event
// is not made, and the delivery is failed.
const (
	FirstRetry  = 5 * time.Second
	MaxRetry    = time.Hour
	RetryWindow = 24 * time.Hour
)

// backoff is the wait after the n-th failed attempt (n >= 1).
func backoff(n int) time.Duration {
	d := FirstRetry
	for i := 1; i < n && d < MaxRetry; i++ {
		d *= 2
	}
	return min(d, MaxRetry)
}

// newClient is the delivery client: every connection dialed through the guard, no proxy from
// the environment (it would dial for us), no redirect followed (a 3xx is a failed attempt: a
// redirect could point anywhere), each attempt bounded by Timeout.
func newClient(cfg Config) *http.Client {
	return &http.Client{
		Timeout: cfg.Timeout,
		Transport: &http.Transport{
			DialContext:         cfg.Guard.dialContext,
			TLSHandshakeTimeout: cfg.Timeout,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// deliver makes one attempt of d and records its outcome. An attempt cut short because ctx
// ended gives d back instead.
func (p *Pool) deliver(ctx context.Context, d delivery) error {
	code, sendErr := p.send(ctx, d)
	if ctx.Err() != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return p.release(rctx, d)
	}
	o := p.judge(d, code, sendErr)
	if err := p.settle(ctx, d, o); err != nil {
		return err
	}
	p.cfg.Attempted(map[string]string{Delivered: "delivered", Pending: "retried", Failed: "failed"}[o.status])
	if p.settled != nil {
		p.settled(d, o.status)
	}
	return nil
}

// judge turns an attempt's answer into the delivery's next state.
func (p *Pool) judge(d delivery, code int, sendErr error) outcome {
	if sendErr == nil && code >= 200 && code < 300 {
		return outcome{status: Delivered, statusCode: code}
	}
	o := outcome{status: Pending, statusCode: code}
	if sendErr != nil {
		o.err = cut(sendErr.Error(), 500)
	} else {
		o.err = "HTTP " + strconv.Itoa(code)
	}
	now := p.cfg.Now()
	o.next = now.Add(backoff(d.attempts + 1))
	if o.next.After(d.createdAt.Add(RetryWindow)) {
		o.status, o.next = Failed, time.Time{}
	}
	return o
}

// send POSTs d, signed, and returns the answer's status code.
func (p *Pool) send(ctx context.Context, d delivery) (int, error) {
	id := EventID(d.event)
	ts := p.cfg.Now().Unix()
	sig, err := Sign(d.secret, id, ts, d.body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "invoice-ingest-webhooks")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	res, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	// Read a little of the answer so the connection can be reused; what it says is not kept.
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	return res.StatusCode, nil
}
