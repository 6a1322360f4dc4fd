package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Eight clients post overlapping batches of the same ids at once: nobody sees a 5xx or a deadlock,
// every id is inserted exactly once, and every stored row holds one of the versions posted for it.
func TestConcurrentOverlappingBatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := newTenant(t, e, "concurrent")
	const clients, window, step, rounds = 8, 120, 20, 3

	batch := func(client int) string {
		rows := make([]string, 0, window)
		for i := client * step; i < client*step+window; i++ {
			// Reverse order for odd clients: the server must sort to avoid lock-order deadlocks.
			id := i
			if client%2 == 1 {
				id = client*step + window - 1 - (i - client*step)
			}
			rows = append(rows, fmt.Sprintf(`{"id": "inv_%04d", "customer_id": "cus_%d", "data_source": "stripe",
				"type": "subscription", "date": "2024-07-01", "amount_cents": %d, "currency": "usd",
				"start_date": "2024-07-01", "end_date": "2024-08-01"}`, id, 123+333*(id%2), 1000+client))
		}
		return "[" + strings.Join(rows, ",") + "]"
	}
	// The clients only send; their answers are checked here, on the test's goroutine.
	type answer struct {
		r   response
		err error
	}
	answers := make([][]answer, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				r, err := e.send("POST", "/data/invoices", tn.key, batch(c))
				answers[c] = append(answers[c], answer{r, err})
				if err != nil || r.Status != http.StatusOK {
					return
				}
			}
		}()
	}
	wg.Wait()

	total := map[string]int{}
	for c, as := range answers {
		for _, a := range as {
			require.NoError(t, a.err)
			if a.r.Status != http.StatusOK {
				t.Errorf("client %d: %d %s", c, a.r.Status, a.r.Body)
				continue
			}
			for _, row := range rowResults(t, a.r) {
				total[row["import_status"].(string)]++
			}
		}
	}
	distinct := (clients-1)*step + window
	require.Zero(t, total["error"])
	require.Equal(t, distinct, total["inserted"], "each id inserted exactly once")
	require.Equal(t, clients*window*rounds, total["inserted"]+total["updated"]+total["unchanged"])
	require.EqualValues(t, distinct, e.count(`SELECT count(*) FROM invoices WHERE source_id = ?`, tn.sourceID))

	// Each row's amount names a client whose window covers the id.
	var bad int64
	require.NoError(t, e.db.Gorm.Raw(`SELECT count(*) FROM invoices
		WHERE source_id = ? AND NOT (amount_cents - 1000 BETWEEN 0 AND ? AND substr(id, 5)::int BETWEEN (amount_cents - 1000) * ? AND (amount_cents - 1000) * ? + ? - 1)`,
		tn.sourceID, clients-1, step, step, window).Scan(&bad).Error)
	require.Zero(t, bad)
}
