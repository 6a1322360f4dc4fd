package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/client"
)

func rowsOf(t *testing.T) []client.Invoice {
	return []client.Invoice{
		{ID: "inv_1", CustomerID: "cus_1", DataSource: "src", Type: "subscription", Date: "2024-07-01",
			AmountCents: 9900, Currency: "usd", StartDate: "2024-07-01", EndDate: "2024-08-01", Discount: 900},
		{ID: "inv_2", CustomerID: "cus_404", DataSource: "src", Type: "one-time", Date: "2024-07-02",
			AmountCents: 100, Currency: "EUR", StartDate: "2024-07-02", EndDate: "2024-07-02"},
	}
}

func TestUpsertStatusesAndReplay(t *testing.T) {
	s := newServer(t)
	c := s.client(t, nil)
	ctx := context.Background()
	res, err := client.UpsertTyped(ctx, c, client.Customers, []client.Customer{{ID: "cus_1", DataSource: "src", Country: "fr"}}, client.BatchOptions{})
	require.NoError(t, err)
	require.Equal(t, client.StatusInserted, res.Results[0].ImportStatus)
	require.NotEmpty(t, res.ImportID)

	res, err = client.UpsertTyped(ctx, c, client.Invoices, rowsOf(t), client.BatchOptions{IdempotencyKey: "k1"})
	require.NoError(t, err)
	require.Equal(t, client.StatusInserted, res.Results[0].ImportStatus)
	require.Equal(t, client.StatusError, res.Results[1].ImportStatus)
	require.Equal(t, "Customer ID cus_404 does not exist", res.Results[1].ImportError)
	require.Equal(t, "customer_id", res.Results[1].Errors[0].Field)
	require.Equal(t, client.Counts{Rows: 2, Inserted: 1, Errors: 1}, res.Count())
	require.False(t, res.Replayed)

	again, err := client.UpsertTyped(ctx, c, client.Invoices, rowsOf(t), client.BatchOptions{IdempotencyKey: "k1"})
	require.NoError(t, err)
	require.True(t, again.Replayed, "the same key and body replay the stored answer")
	require.Equal(t, res.Results, again.Results)
	require.Equal(t, res.ImportID, again.ImportID)

	fresh, err := client.UpsertTyped(ctx, c, client.Invoices, rowsOf(t)[:1], client.BatchOptions{})
	require.NoError(t, err)
	require.Equal(t, client.StatusUnchanged, fresh.Results[0].ImportStatus)

	_, err = client.UpsertTyped(ctx, c, client.Invoices, rowsOf(t)[:1], client.BatchOptions{IdempotencyKey: "k1"})
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr, "a key reused for another body is not retried")
	require.Equal(t, 422, apiErr.Status)
	require.Equal(t, "idempotency_key_reused", apiErr.Code)
}

// TestRetries: 503, then 429 with Retry-After: 1, then the real answer; the batch is written
// once (one import), the waits are the backoff's and the Retry-After's.
func TestRetries(t *testing.T) {
	s := newServer(t)
	var waits []time.Duration
	c := s.client(t, &waits)
	var calls atomic.Int32
	s.setWrap(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || r.URL.Path != "/data/customers" {
			return false
		}
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		case 2:
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"type":"about:blank","title":"Too Many Requests","status":429,"detail":"slow down","code":"rate_limited"}`))
			return true
		}
		return false
	})
	var events []client.RetryEvent
	c.OnRetry = func(e client.RetryEvent) { events = append(events, e) }
	before, err := c.Imports(context.Background(), 100)
	require.NoError(t, err)
	res, err := client.UpsertTyped(context.Background(), c, client.Customers, []client.Customer{{ID: "cus_r", DataSource: "src"}}, client.BatchOptions{IdempotencyKey: "retry-1"})
	require.NoError(t, err)
	require.Equal(t, client.StatusInserted, res.Results[0].ImportStatus)
	require.Equal(t, int32(3), calls.Load())
	// first wait: 1 s with equal jitter at Rand=0.5 (0.75 s); second: the Retry-After of 1 s
	require.Equal(t, []time.Duration{750 * time.Millisecond, time.Second}, waits)
	require.Len(t, events, 2)
	require.Contains(t, events[1].Err.Error(), "rate_limited")
	after, err := c.Imports(context.Background(), 100)
	require.NoError(t, err)
	require.Len(t, after, len(before)+1, "one write, one import")
	require.Equal(t, res.ImportID, after[0].ID)
}

func TestGivesUpAfterTenAttempts(t *testing.T) {
	s := newServer(t)
	var waits []time.Duration
	c := s.client(t, &waits)
	var calls atomic.Int32
	s.setWrap(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/data/plans" {
			return false
		}
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
		return true
	})
	_, err := client.UpsertTyped(context.Background(), c, client.Plans, []client.Plan{{ID: "p", DataSource: "src", Name: "P"}}, client.BatchOptions{IdempotencyKey: "x"})
	require.True(t, client.IsGaveUp(err), "%v", err)
	require.Equal(t, int32(10), calls.Load())
	require.Len(t, waits, 9)
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30, 30, 30}
	for i, w := range want {
		require.Equal(t, w*time.Second*3/4, waits[i], "wait %d: doubling from 1 s, capped at 30 s, equal jitter", i)
	}

	// without an Idempotency-Key a write is never retried: it could apply twice
	calls.Store(0)
	_, err = client.UpsertTyped(context.Background(), c, client.Plans, []client.Plan{{ID: "p", DataSource: "src", Name: "P"}}, client.BatchOptions{})
	require.Error(t, err)
	require.Equal(t, int32(1), calls.Load())
}

func TestCancelStopsTheWait(t *testing.T) {
	s := newServer(t)
	c := s.client(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	s.setWrap(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/data/plans" {
			return false
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	c.Sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}
	_, err := client.UpsertTyped(ctx, c, client.Plans, []client.Plan{{ID: "p", DataSource: "src", Name: "P"}}, client.BatchOptions{IdempotencyKey: "c"})
	require.True(t, errors.Is(err, context.Canceled), "%v", err)
}

func TestStream(t *testing.T) {
	s := newServer(t)
	c := s.client(t, nil)
	body := `{"id":"cus_a","data_source":"src","email":"a@example.com"}
{"id":"cus_b","data_source":"src","email":"nope"}
{"id":"cus_a","data_source":"src","email":"a@example.com"}
`
	var got []client.RowResult
	id, err := c.Stream(context.Background(), client.Customers, strings.NewReader(body), false, func(r client.RowResult) error {
		got = append(got, r)
		return nil
	})
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, client.StatusInserted, got[0].ImportStatus)
	require.Equal(t, client.StatusError, got[1].ImportStatus)
	require.Equal(t, "email", got[1].Errors[0].Field)
	require.Equal(t, client.StatusError, got[2].ImportStatus, "a duplicate id in one request")
	imp, err := c.Import(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, int64(3), imp.Rows)
	require.Equal(t, int64(2), imp.Errors)
}

func TestArchiveInvoice(t *testing.T) {
	s := newServer(t)
	c := s.client(t, nil)
	ctx := context.Background()
	_, err := client.UpsertTyped(ctx, c, client.Customers, []client.Customer{{ID: "cus_1", DataSource: "src"}}, client.BatchOptions{})
	require.NoError(t, err)
	_, err = client.UpsertTyped(ctx, c, client.Invoices, rowsOf(t)[:1], client.BatchOptions{})
	require.NoError(t, err)
	found, before, err := c.ArchiveInvoice(ctx, "src", "inv_1")
	require.NoError(t, err)
	require.True(t, found)
	require.False(t, before)
	found, before, err = c.ArchiveInvoice(ctx, "src", "inv_1")
	require.NoError(t, err)
	require.True(t, found)
	require.True(t, before)
	found, _, err = c.ArchiveInvoice(ctx, "src", "never_pushed")
	require.NoError(t, err)
	require.False(t, found)
}

func TestMajorToMinor(t *testing.T) {
	for _, tc := range []struct {
		amount, currency string
		want             int64
		err              bool
	}{
		{"99.00", "USD", 9900, false}, {"99.5", "usd", 9950, false}, {"0.01", "EUR", 1, false},
		{"1500", "JPY", 1500, false}, {"1500.0", "JPY", 1500, false}, {"1500.5", "JPY", 0, true},
		{"1.234", "KWD", 1234, false}, {"12", "KWD", 12000, false}, {"1.2345", "KWD", 0, true},
		{"1.001", "USD", 0, true}, {"abc", "USD", 0, true}, {"", "USD", 0, true}, {"1e3", "USD", 0, true},
		{".5", "USD", 50, false}, {"-1.00", "USD", -100, false}, {"99999999999999999999", "USD", 0, true},
	} {
		got, err := client.MajorToMinor(tc.amount, tc.currency)
		if tc.err {
			require.Error(t, err, "%s %s", tc.amount, tc.currency)
			continue
		}
		require.NoError(t, err, "%s %s", tc.amount, tc.currency)
		require.Equal(t, tc.want, got, "%s %s", tc.amount, tc.currency)
	}
}

func TestMarshalLeavesEmptyOptionalFieldsOut(t *testing.T) {
	raw, err := client.Marshal([]client.Customer{{ID: "c", DataSource: "s"}})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw[0], &m))
	require.Equal(t, map[string]any{"id": "c", "data_source": "s"}, m)
}
