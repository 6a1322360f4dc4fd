package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"invoice-ingest/internal/scratch"
)

// server is a `serve` child and an HTTP client for it.
type server struct {
	*child
	base   string
	key    string
	client *http.Client
	// answered, when set, is told the Import-Id of every write post's answer (-webhook-latency).
	answered func(importID string)
}

// startServer starts `serve` on a free port with RECALC_WORKERS=0, so recalculation never
// competes with the ingest passes for the two cores, and waits until /readyz answers.
func (b *bench) startServer(ctx context.Context) (*server, error) {
	return b.startServerWorkers(ctx, 0)
}

// startServerWorkers is startServer with the given number of recalculation workers and more
// environment, on a free port (another one if the child exits before it is ready: see
// scratch.OnFreePort).
func (b *bench) startServerWorkers(ctx context.Context, workers int, env ...string) (*server, error) {
	return scratch.OnFreePort(func(addr string) (*server, error) { return b.startServerOn(ctx, addr, workers, env...) })
}

// startServerOn starts one `serve` child on addr and waits until it holds the port and answers
// /readyz.
func (b *bench) startServerOn(ctx context.Context, addr string, workers int, env ...string) (*server, error) {
	c, err := b.startChild([]string{"serve"}, append([]string{"HTTP_ADDR=" + addr, "RECALC_WORKERS=" + strconv.Itoa(workers)}, env...)...)
	if err != nil {
		return nil, err
	}
	s := &server{child: c, base: "http://" + addr, key: b.apiKey, client: &http.Client{
		Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true},
	}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if done, err := c.exited(); done {
			return nil, fmt.Errorf("%w: %v", scratch.ErrExitedEarly, err)
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/readyz", nil)
		if res, err := s.client.Do(req); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK && scratch.Listening(c.pid(), addr) {
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, fmt.Errorf("server not ready after 60 s (%v)", ctx.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// post sends body to path with the API key and returns the response (the caller closes it).
func (s *server) post(ctx context.Context, path, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", s.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", contentType)
	res, err := s.client.Do(req)
	if err == nil && s.answered != nil {
		s.answered(res.Header.Get("Import-Id"))
	}
	return res, err
}

// createSource creates the data source through the API and returns its id.
func (s *server) createSource(ctx context.Context, name string) (uuid.UUID, error) {
	res, err := s.post(ctx, "/data/data_sources", "application/json", strings.NewReader(`{"name":`+strconv.Quote(name)+`}`))
	if err != nil {
		return uuid.Nil, err
	}
	defer res.Body.Close()
	var out struct {
		Result struct {
			ID uuid.UUID `json:"id"`
		} `json:"result"`
	}
	if res.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(res.Body)
		return uuid.Nil, fmt.Errorf("POST /data/data_sources: %s: %s", res.Status, b)
	}
	err = json.NewDecoder(res.Body).Decode(&out)
	return out.Result.ID, err
}

// account is what `invoice-ingest accounts create` prints.
type account struct {
	id  uuid.UUID
	key string
}

// createAccount runs the binary's own `accounts create --name bench` and parses its JSON.
func (b *bench) createAccount(ctx context.Context) (account, error) {
	cmd := exec.CommandContext(ctx, b.bin, "accounts", "create", "--name", "bench")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+b.url, "LOG_LEVEL=warn")
	cmd.Stderr = b.stderr
	out, err := cmd.Output()
	if err != nil {
		return account{}, fmt.Errorf("accounts create: %w", err)
	}
	var v struct {
		AccountID uuid.UUID `json:"account_id"`
		APIKey    string    `json:"api_key"`
	}
	if err := json.Unmarshal(out, &v); err != nil || v.APIKey == "" {
		return account{}, fmt.Errorf("accounts create printed %q: %v", out, err)
	}
	return account{id: v.AccountID, key: v.APIKey}, nil
}

// rowResult is the part of a row's answer the checks need.
type rowResult struct {
	Index  int     `json:"index"`
	ID     *string `json:"id"`
	Status string  `json:"import_status"`
	Error  string  `json:"import_error"`
}

// postChecked posts one JSON array of n rows and fails unless the answer is 200 with n results,
// in order, all with status want (and, when rows is given, their ids).
func (s *server) postChecked(ctx context.Context, path string, body []byte, rows []invoice, n int, want string) error {
	res, err := s.post(ctx, path, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s: %.500s", path, res.Status, raw)
	}
	if rows != nil && len(rows) == n && answersAll(raw, rows, want) {
		return nil
	}
	var out struct {
		Result []rowResult `json:"result"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("POST %s: answer is not JSON: %v: %.200s", path, err, raw)
	}
	if len(out.Result) != n {
		return fmt.Errorf("POST %s: %d results for %d rows", path, len(out.Result), n)
	}
	for i, r := range out.Result {
		var id string
		if rows != nil {
			id = rows[i].id
		}
		if err := checkResult(r, i, id, want); err != nil {
			return fmt.Errorf("POST %s: %w", path, err)
		}
	}
	return nil
}

// answersAll tells whether raw is the answer that gives every row of rows status want, by
// comparing its results with that answer's bytes, as api/rowresult_json.go writes them. Decoding
// the answer with encoding/json cost this process as much CPU as PostgreSQL's COPY of the rows
// cost the COPY pass's client, on the cores the server and PostgreSQL share; the comparison costs
// a fiftieth of that. Any other answer, right or wrong, is decoded and checked row by row.
func answersAll(raw []byte, rows []invoice, want string) bool {
	const head = `","result":[`
	i := bytes.Index(raw, []byte(head))
	if i < 0 || !bytes.HasPrefix(raw, []byte(`{"import_id":"`)) {
		return false
	}
	rest := raw[i+len(head):]
	for j := range rows {
		if j > 0 {
			if len(rest) == 0 || rest[0] != ',' {
				return false
			}
			rest = rest[1:]
		}
		var ok bool
		if rest, ok = cutResult(rest, j, rows[j].id, want); !ok {
			return false
		}
	}
	return string(rest) == "]}"
}

// cutResult cuts {"index":index,"id":"id","import_status":"want"} from the start of b.
func cutResult(b []byte, index int, id, want string) ([]byte, bool) {
	for _, part := range [...]string{`{"index":`, strconv.Itoa(index), `,"id":"`, id, `","import_status":"`, want, `"}`} {
		if len(b) < len(part) || string(b[:len(part)]) != part {
			return nil, false
		}
		b = b[len(part):]
	}
	return b, true
}

// checkResult fails unless r is the answer for row index (with id, when given) with status want.
func checkResult(r rowResult, index int, id, want string) error {
	switch {
	case r.Index != index:
		return fmt.Errorf("result %d has index %d", index, r.Index)
	case id != "" && (r.ID == nil || *r.ID != id):
		return fmt.Errorf("result %d is for id %v, want %s", index, r.ID, id)
	case r.Status != want:
		return fmt.Errorf("row %d (%s) is %q, want %q %s", index, id, r.Status, want, r.Error)
	}
	return nil
}
