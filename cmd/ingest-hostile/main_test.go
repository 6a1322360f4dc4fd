package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/models/dbtest"
)

// TestMain lets the test binary be its own flood-worker process, as the command is.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "flood-worker" {
		if err := runFloodWorker(context.Background(), os.Args[2:], os.Stdout, os.Stderr); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSmoke runs every scenario small (it builds the service binary with go build). It asserts
// the figures' presence and what holds whatever the machine's speed (statuses, exit codes,
// rows), never a timing.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the service binary")
	}
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"-streams", "1,2", "-lines", "5", "-line-bytes", "200000", "-readers", "2",
		"-flood-workers", "4", "-flood-addrs", "1,3", "-phase", "1s", "-freeze", "2s", "-request-timeout", "1s",
		"-after", "1s", "-sigterm-after", "500ms", "-database-url", dbtest.ServerURL()}, &stdout, &stderr)
	require.NoError(t, err, "stderr:\n%s", stderr.String())
	out := strings.TrimSpace(stdout.String())
	last := out[strings.LastIndexByte(out, '\n')+1:]
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(last), &got), "last line: %s", last)
	for _, k := range []string{"rss_1_streams_peak_mib", "rss_2_streams_peak_mib", "flood_1_addrs_reads_per_s",
		"flood_3_addrs_reads_per_s", "freeze_frozen_write_answers", "freeze_recovery_read_s", "freeze_sigterm_exit_code"} {
		require.Contains(t, got, k, "stdout:\n%s", out)
	}
	require.NotContains(t, got, "rss_1_streams_failures", "stdout:\n%s", out)
	require.NotContains(t, got, "rss_2_streams_failures", "stdout:\n%s", out)
	require.Equal(t, true, got["sigterm_stream_ok"], "stdout:\n%s", out)
	require.EqualValues(t, 0, got["sigterm_json_5xx"], "stdout:\n%s", out)
	require.EqualValues(t, 0, got["sigterm_json_exit_code"], "stdout:\n%s", out)
	require.EqualValues(t, 0, got["freeze_sigterm_exit_code"], "stdout:\n%s", out)
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-run", "nope"}, {"-streams", "0"}, {"-flood-addrs", "x"}, {"-lines", "0"}, {"-phase", "0s"}, {"extra"}} {
		_, err := parseFlags(args, &bytes.Buffer{})
		require.Error(t, err, "%v", args)
	}
	c, err := parseFlags(nil, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, []int{1, 8}, c.streams)
	require.Equal(t, 999, c.lines)
	require.Equal(t, scenarios, c.run)
}

// TestHostileLine checks, without a server, that a hostile line has the size asked for and is
// one JSON object.
func TestHostileLine(t *testing.T) {
	var buf bytes.Buffer
	done := make(chan struct{})
	pr, pw := io.Pipe()
	go func() { buf.ReadFrom(pr); close(done) }()
	n, err := writeHostile(pw, "p", 2, 1<<20-1024)
	require.NoError(t, err)
	<-done
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, 2)
	require.EqualValues(t, buf.Len(), n)
	for _, l := range lines {
		require.LessOrEqual(t, len(l), 1<<20-1024)
		require.Greater(t, len(l), 1<<20-2048)
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &v))
		require.Equal(t, "stripe", v["data_source"])
	}
}
