package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// webhookLatency measures, during the freshness phase (-webhook-latency), how long after a write
// answers its import.completed event reaches a receiver of ours: the event commits with the
// write, just before the answer, so the figure is from commit to receiver, give or take the
// answer's way back to the client. Every write of the phase counts, the steady load's and the
// probes'.
type webhookLatency struct {
	mu       sync.Mutex
	answered map[string]time.Time // import id -> when its write answered
	arrived  map[string]time.Time // import id -> when its event arrived
	srv      *http.Server
	url      string
}

// startWebhookLatency starts the receiver and registers it for import.completed with srv (whose
// process runs with WEBHOOK_ALLOW_PRIVATE=true: the receiver listens on 127.0.0.1).
func startWebhookLatency(ctx context.Context, srv *server) (*webhookLatency, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w := &webhookLatency{answered: map[string]time.Time{}, arrived: map[string]time.Time{}, url: "http://" + ln.Addr().String() + "/hook"}
	w.srv = &http.Server{Handler: http.HandlerFunc(w.receive), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = w.srv.Serve(ln) }()
	body := fmt.Sprintf(`{"url": %q, "events": ["import.completed"]}`, w.url)
	res, err := srv.post(ctx, "/data/webhooks", "application/json", strings.NewReader(body))
	if err != nil {
		w.srv.Close()
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		w.srv.Close()
		return nil, fmt.Errorf("register webhook: %s", res.Status)
	}
	srv.answered = w.answer
	return w, nil
}

// receive records an event's arrival.
func (w *webhookLatency) receive(rw http.ResponseWriter, r *http.Request) {
	now := time.Now()
	var ev struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&ev); err == nil {
		w.mu.Lock()
		w.arrived[ev.Data.ID] = now
		w.mu.Unlock()
	}
	rw.WriteHeader(http.StatusNoContent)
}

// answer records when the write of import id answered.
func (w *webhookLatency) answer(id string) {
	if id == "" {
		return
	}
	now := time.Now()
	w.mu.Lock()
	w.answered[id] = now
	w.mu.Unlock()
}

// result stops the receiver and returns the delays of the writes whose event arrived, and how
// many writes had none by then.
func (w *webhookLatency) result() (*freshnessResult, int) {
	w.srv.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	f := &freshnessResult{}
	missing := 0
	for id, at := range w.answered {
		got, ok := w.arrived[id]
		if !ok {
			missing++
			continue
		}
		f.delays = append(f.delays, max(got.Sub(at), 0))
	}
	return f, missing
}
