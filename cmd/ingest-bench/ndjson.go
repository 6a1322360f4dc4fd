package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"
)

// runNDJSON streams -ndjson-rows rows as ONE application/x-ndjson request to a fresh server,
// -rounds times, each round right after a 4-client JSON insert of as many rows on the same server
// (method e2e@stream), and compares the two within the round: a stream takes half a minute, and
// this kind of shared machine changes speed by a third within minutes (one stream compared with
// the e2e rounds of several minutes before measured the machine as much as the stream). The insert
// writes as many rows as the stream because a million rows cost PostgreSQL more per row than a
// hundred thousand (they outgrow shared_buffers and run into a checkpoint): against the -rows
// insert, the stream was measured against a smaller job. The body is written to a file before the
// clock starts, as the e2e passes encode their bodies before theirs, and sent from it, so it is
// never held in memory; the answer is read line by line while the body is still being sent (the
// server answers each 1,000-row chunk as it commits). It reports rows/s, the CPU the stream cost
// each party and the server's peak RSS.
func (b *bench) runNDJSON(ctx context.Context) error {
	n := b.cfg.ndjsonRows
	if n == 0 {
		return nil
	}
	if err := b.reset(ctx); err != nil {
		return err
	}
	b.log("NDJSON: fresh server, %d rounds of a %d-row 4-client insert and one stream of as many rows", b.cfg.rounds, n)
	srv, err := b.startServer(ctx)
	if err != nil {
		return err
	}
	defer srv.stop()
	e2eSrv := b.srv
	b.srv = srv // the e2e@stream passes' server CPU is this server's
	defer func() { b.srv = e2eSrv }()
	if err := b.warmUp(ctx, srv, "warm_"); err != nil {
		return err
	}
	before, err := vmHWM(srv.pid())
	if err != nil {
		return err
	}
	// As many requests at once as the clients send, so that the first round's insert does not
	// pay for opening the server's database connections, which the e2e rounds' server had open.
	err = parallel(ctx, b.cfg.clients, b.cfg.clients, func(ctx context.Context, c int) error {
		return b.warmUp(ctx, srv, "warm_"+strconv.Itoa(c)+"_")
	})
	if err != nil {
		return err
	}
	body, err := b.ndjsonFile(n)
	if err != nil {
		return err
	}
	defer body.Close()
	m := &ndjsonResult{rows: n, before: before}
	for range b.cfg.rounds {
		insert, err := b.runPlainInsert(ctx, srv, n, "e2e@stream")
		if err != nil {
			return fmt.Errorf("e2e@stream: %w", err)
		}
		stream, err := b.stream(ctx, srv, body)
		if err != nil {
			return err
		}
		m.rounds = append(m.rounds, ndjsonRound{stream: stream, insert: insert})
	}
	if m.peak, err = vmHWM(srv.pid()); err != nil {
		return err
	}
	b.ndjson = m
	return nil
}

// stream sends body (rows 0..-ndjson-rows - 1, read from its start) into an empty table as one
// request and checks every answer line.
func (b *bench) stream(ctx context.Context, srv *server, body *os.File) (result, error) {
	n := b.cfg.ndjsonRows
	if err := b.reset(ctx); err != nil {
		return result{}, err
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return result{}, err
	}
	b.log("NDJSON: one stream of %d rows", n)
	c0 := cpuNow(srv.pid(), b.dbName)
	start := time.Now()
	res, err := srv.post(ctx, "/data/invoices", "application/x-ndjson", io.NopCloser(body))
	if err != nil {
		return result{}, err
	}
	defer res.Body.Close()
	got, err := readNDJSONAnswer(res)
	if err != nil {
		return result{}, err
	}
	r := result{method: "NDJSON", pass: "stream", rows: n, dur: time.Since(start), cpu: cpuNow(srv.pid(), b.dbName).sub(c0)}
	if got != n {
		return result{}, fmt.Errorf("NDJSON: %d results for %d rows", got, n)
	}
	b.log("  NDJSON stream: %d in %.3f s = %.0f/s", n, r.dur.Seconds(), r.rate())
	return r, b.countInvoices(ctx, n)
}

// warmUp sends the same small request as the RSS measurement before it reads its baseline, so
// the two baselines compare: 100 rows, their ids prefixed by prefix.
func (b *bench) warmUp(ctx context.Context, srv *server, prefix string) error {
	warm := genInvoices(100, b.cfg.customers, 0)
	for i := range warm {
		warm[i].id = prefix + strconv.Itoa(i)
	}
	return srv.postChecked(ctx, "/data/invoices", jsonArray(warm, "bench"), warm, len(warm), "inserted")
}

// ndjsonFile writes rows 0..n-1 as NDJSON to a file of this run and returns it opened at its
// start: a stream of any length costs this process no memory.
func (b *bench) ndjsonFile(n int) (*os.File, error) {
	f, err := os.CreateTemp(b.tmp, "stream-*.ndjson")
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, 64<<10)
	var line []byte
	for i := range n {
		inv := genInvoice(i, b.cfg.customers, 0)
		line = append(appendJSON(line[:0], &inv, "bench"), '\n')
		if _, err := w.Write(line); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// readNDJSONAnswer checks the answer line by line, as the server sends it, and returns how many
// rows it answered.
func readNDJSONAnswer(res *http.Response) (int, error) {
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 500))
		return 0, fmt.Errorf("NDJSON: %s: %s", res.Status, body)
	}
	in := bufio.NewReaderSize(res.Body, 64<<10)
	got := 0
	for {
		line, err := in.ReadSlice('\n')
		if len(line) > 0 {
			if cerr := checkNDJSONLine(line, got); cerr != nil {
				return got, cerr
			}
			got++
		}
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, fmt.Errorf("NDJSON: reading the answer after %d rows: %w", got, err)
		}
	}
}

// checkNDJSONLine fails unless line answers row `index` as inserted. A stream that fails midway
// ends with an error line instead of a row's result. The line a good row gets is recognised by
// its bytes, as the e2e clients recognise a good answer (answersAll): decoding a million lines
// cost this process about a CPU second, taken from the server and PostgreSQL on the same cores.
func checkNDJSONLine(line []byte, index int) error {
	id := "inv_" + strconv.Itoa(index)
	if rest, ok := cutResult(line, index, id, "inserted"); ok && string(rest) == "\n" {
		return nil
	}
	var r struct {
		rowResult
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return fmt.Errorf("NDJSON answer line %d: %v: %.200s", index, err, line)
	}
	if r.Error != nil {
		return fmt.Errorf("NDJSON stream failed after %d rows: %s", index, r.Error)
	}
	if err := checkResult(r.rowResult, index, id, "inserted"); err != nil {
		return fmt.Errorf("NDJSON: %w", err)
	}
	return nil
}

// ndjsonResult is the stream's figures: its rounds, and the server's peak RSS (MiB) after the
// warm-up and over all the rounds.
type ndjsonResult struct {
	rows         int
	rounds       []ndjsonRound
	before, peak float64
}

// ndjsonRound is one stream and the 4-client insert of as many rows that ran just before it on
// the same server.
type ndjsonRound struct{ stream, insert result }

// ratio is the stream's rate against the insert's.
func (r ndjsonRound) ratio() float64 { return r.stream.rate() / r.insert.rate() }

// median returns the round of the median ratio (the lower of the middle two for an even count).
func (m *ndjsonResult) median() ndjsonRound {
	rounds := slices.Clone(m.rounds)
	slices.SortStableFunc(rounds, func(x, y ndjsonRound) int { return cmp.Compare(x.ratio(), y.ratio()) })
	return rounds[(len(rounds)-1)/2]
}
