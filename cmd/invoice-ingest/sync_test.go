package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/client"
)

// stripeMock starts stripe-mock (STRIPE_MOCK, else bin/stripe-mock) on a free port and returns
// its base URL. Without it the test skips, unless STRIPE_MOCK_REQUIRED=1 (make test installs it).
func stripeMock(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("STRIPE_MOCK")
	if bin == "" {
		bin, _ = filepath.Abs("../../bin/stripe-mock")
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("STRIPE_MOCK_REQUIRED") == "1" {
			t.Fatalf("stripe-mock is not at %s, and STRIPE_MOCK_REQUIRED=1 (make test installs it: .ci/stripe-mock.sh)", bin)
		}
		t.Skipf("stripe-mock is not installed (%s): run bash .ci/stripe-mock.sh, or make test", bin)
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() { // "Listening for HTTP at address: 127.0.0.1:PORT"
		if _, addr, ok := strings.Cut(sc.Text(), "Listening for HTTP at address: "); ok {
			go func() {
				for sc.Scan() { // keep its pipe drained
				}
			}()
			return "http://" + addr
		}
	}
	t.Fatalf("stripe-mock ended before listening: %v", sc.Err())
	return ""
}

// TestSyncStripeAgainstStripeMock: stripe-go really talks HTTP to stripe-mock, whose fixtures are
// one customer, one recurring price (product "T-shirt"), a draft invoice, a credit note and a
// subscription with ended_at. A second sync answers unchanged for everything.
func TestSyncStripeAgainstStripeMock(t *testing.T) {
	t.Parallel()
	mock := stripeMock(t)
	s := newPushServer(t)
	sync := func() (pushRun, map[string]summary) {
		r := s.pushEnv(t, map[string]string{"STRIPE_API_KEY": "sk_test_123", "STRIPE_API_BASE": mock},
			"sync", "stripe", "--source", "stripe", "--json")
		var out map[string]summary
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &out), "stdout %s\nstderr %s", r.stdout, r.stderr)
		return r, out
	}
	r, out := sync()
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, client.Counts{Rows: 1, Inserted: 1}, out["customers"].Counts)
	require.Equal(t, client.Counts{Rows: 1, Inserted: 1}, out["plans"].Counts)
	require.Equal(t, client.Counts{Rows: 2, Inserted: 2}, out["invoices"].Counts, "the draft is skipped: the credit note and the cancellation")

	invoices := map[string]map[string]any{}
	for _, inv := range listInvoicesOf(t, s, "stripe") {
		invoices[inv["id"].(string)] = inv
	}
	refund := invoices["cn_1Pgc75B7WZ01zgkWJMPt5riP"]
	require.NotNil(t, refund, "%v", invoices)
	require.Equal(t, "refund", refund["type"])
	require.Equal(t, "cus_QXg1o8vcGmoR32", refund["customer_id"])
	require.Equal(t, float64(1690), refund["amount_cents"], "the credit note's total")
	require.Equal(t, "USD", refund["currency"])
	require.Equal(t, "2009-02-13T23:31:30Z", refund["date"], "created")
	require.Equal(t, refund["date"], refund["start_date"])
	cancel := invoices["cancel_sub_1Pgc6rB7WZ01zgkWNy0Cn5nw"]
	require.NotNil(t, cancel, "%v", invoices)
	require.Equal(t, "cancellation", cancel["type"])
	require.Equal(t, float64(0), cancel["amount_cents"])
	require.Equal(t, "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw", cancel["subscription_id"])
	require.Equal(t, "2009-02-13T23:31:30Z", cancel["end_date"], "ended_at")
	require.Len(t, invoices, 2)

	plan := getJSON(t, s, "/data/plans/price_1PgafmB7WZ01zgkW6dKueIc5?source=stripe")
	require.Equal(t, "T-shirt", plan["name"], "no nickname: the expanded product's name")
	require.Equal(t, "month", plan["interval_unit"])
	require.Equal(t, float64(1), plan["interval_count"])

	r, out = sync()
	require.Equal(t, 0, r.code, r.stderr)
	for _, e := range []string{"customers", "plans", "invoices"} {
		c := out[e].Counts
		require.Equal(t, client.Counts{Rows: c.Rows, Unchanged: c.Rows}, c, "second sync of %s", e)
	}
}

func TestSyncStripeUsage(t *testing.T) {
	t.Parallel()
	s := &pushServer{url: "http://127.0.0.1:1", key: "ik_x"}
	r := s.pushEnv(t, nil, "sync", "stripe", "--source", "x")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "STRIPE_API_KEY")
	r = s.pushEnv(t, map[string]string{"STRIPE_API_KEY": "sk"}, "sync", "stripe")
	require.Equal(t, 2, r.code)
	r = s.pushEnv(t, map[string]string{"STRIPE_API_KEY": "sk"}, "sync", "stripe", "--source", "x", "--since", "July")
	require.Equal(t, 2, r.code)
}
