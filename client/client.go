package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// DefaultURL is the service's address when INGEST_URL is not set.
const DefaultURL = "http://127.0.0.1:8080"

// Client talks to one invoice-ingest service with one API key. Its zero values of the optional
// fields are replaced by defaults in New; a Client is safe for concurrent use.
type Client struct {
	BaseURL string       // e.g. http://127.0.0.1:8080
	Key     string       // the API key, sent as a Bearer token
	HTTP    *http.Client // nil: a client without overall timeout (AttemptTimeout bounds each attempt)
	Retry   Retry

	// AttemptTimeout bounds one attempt (request and answer); 0: no bound. Streams ignore it.
	AttemptTimeout time.Duration
	// OnRetry, when set, is told about every retry before its wait.
	OnRetry func(RetryEvent)
	// Sleep waits d or until ctx ends; Rand returns a number in [0, 1) for the jitter.
	Sleep func(ctx context.Context, d time.Duration) error
	Rand  func() float64
}

// New returns a client of the service at baseURL with the given key and the default policy:
// 10 attempts, backoff from 1 s doubling up to 30 s with jitter, 2 minutes per attempt.
func New(baseURL, key string) *Client {
	return &Client{
		BaseURL:        strings.TrimRight(baseURL, "/"),
		Key:            key,
		HTTP:           &http.Client{Transport: newTransport()},
		Retry:          DefaultRetry,
		AttemptTimeout: 2 * time.Minute,
		Sleep:          sleepCtx,
		Rand:           rand.Float64,
	}
}

// maxIdlePerHost is the idle connections kept to the service: one per batch in flight (push's
// --concurrency goes up to 64). http.DefaultTransport keeps 2, so with more requests in flight
// every answer beyond the second closed its connection and the next request opened another.
const maxIdlePerHost = 64

// newTransport is http.DefaultTransport's settings (proxy from the environment, timeouts) with
// maxIdlePerHost idle connections.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(t.MaxIdleConns, maxIdlePerHost)
	t.MaxIdleConnsPerHost = maxIdlePerHost
	return t
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// request is one call: what to send, built again for every attempt.
type request struct {
	method, path string
	body         []byte
	header       http.Header
	retry        bool // retry (every write with an Idempotency-Key, every read)
}

// response is a successful answer, its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends r, retrying per c.Retry, and returns the first answer that is not retried. An answer
// of 4xx (other than those retried) is returned as *APIError.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	for attempt := 1; ; attempt++ {
		res, err := c.attempt(ctx, r)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		wait, retry := c.Retry.classify(res, err)
		if !retry || !r.retry || attempt >= c.Retry.Attempts {
			if err != nil {
				return nil, &GaveUpError{Attempts: attempt, Err: err}
			}
			if res.status >= 300 {
				apiErr := problem(res)
				if retry && r.retry {
					return nil, &GaveUpError{Attempts: attempt, Err: apiErr}
				}
				return nil, apiErr
			}
			return res, nil
		}
		d := c.Retry.delay(attempt, wait, c.Rand)
		if c.OnRetry != nil {
			c.OnRetry(RetryEvent{Method: r.method, Path: r.path, Attempt: attempt, Wait: d, Err: retryCause(res, err)})
		}
		if err := c.Sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

// attempt sends r once and reads the whole answer.
func (c *Client) attempt(ctx context.Context, r request) (*response, error) {
	if c.AttemptTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.AttemptTimeout)
		defer cancel()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.BaseURL+r.path, body)
	if err != nil {
		return nil, err
	}
	c.headers(req, r.header)
	if r.body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}, nil
}

// headers sets the authentication and the call's own headers on req.
func (c *Client) headers(req *http.Request, h http.Header) {
	req.Header.Set("Authorization", "Bearer "+c.Key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "invoice-ingest-client/1")
	for k, v := range h {
		req.Header[k] = v
	}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

// getJSON reads a GET answer's "result" into out.
func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	res, err := c.do(ctx, request{method: http.MethodGet, path: path, retry: true})
	if err != nil {
		return err
	}
	return decodeResult(res.body, out)
}

// decodeResult decodes the success envelope {"result": ...} into out.
func decodeResult(body []byte, out any) error {
	env := struct {
		Result json.RawMessage `json:"result"`
	}{}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("the service answered something that is not JSON: %w", err)
	}
	return json.Unmarshal(env.Result, out)
}
