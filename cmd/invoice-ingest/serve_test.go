package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/models/dbtest"
)

// serve stops on its context (SIGINT/SIGTERM in main) only after in-flight requests finish.
func TestServeStopsGracefully(t *testing.T) {
	t.Parallel()
	url := dbtest.NewDatabase(t)
	out, err := cli(t, url, "accounts", "create", "--name", "graceful")
	require.NoError(t, err)
	var acc struct {
		APIKey string `json:"api_key"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &acc))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr}, func(k string) (string, bool) {
			v, ok := map[string]string{"DATABASE_URL": url, "LOG_LEVEL": "error", "METRICS_ADDR": ""}[k]
			return v, ok
		}, io.Discard, io.Discard)
	}()
	base := "http://" + addr
	require.Eventually(t, func() bool {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
		}
		return err == nil && res.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)
	post := func(path, body string) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+acc.APIKey)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Less(t, res.StatusCode, 300)
	}
	post("/data/data_sources", `{"name": "stripe"}`)

	// An NDJSON upload is in flight when the stop comes: its first chunk is answered, then the
	// server is told to stop, then the rest is sent: every row is still answered.
	pr, pw := io.Pipe()
	stopped := make(chan struct{})
	go func() {
		for i := range 1000 { // one full chunk: the server answers it before the body ends
			fmt.Fprintf(pw, `{"id": "c%d", "data_source": "stripe"}`+"\n", i)
		}
		<-stopped
		fmt.Fprintln(pw, `{"id": "last", "data_source": "stripe"}`)
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", base+"/data/customers", pr)
	req.Header.Set("Authorization", "Bearer "+acc.APIKey)
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	lines := 0
	for lines < 1000 && sc.Scan() {
		lines++
	}
	stop()
	close(stopped)
	for sc.Scan() {
		lines++
		require.Contains(t, sc.Text(), `"import_status":"inserted"`)
	}
	require.Equal(t, 1001, lines)
	require.NoError(t, <-done, "a clean stop")
	_, err = net.Dial("tcp", addr)
	require.Error(t, err, "no longer listening")
}
