package api_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"invoice-ingest/models"
)

// A chunk waiting to commit behind the chunk before it, and another client locking rows of both,
// can form a wait cycle: chunk 1000 holds y and waits for chunk 0, the client holds x and waits
// for y, chunk 0 waits for x. Chunk 1000 waits for chunk 0 inside PostgreSQL, so PostgreSQL
// sees the cycle and aborts one of the three; the stream then completes.
func TestStreamChunkWaitCycleWithAnotherClientIsBroken(t *testing.T) {
	t.Parallel()
	waiting := make(chan struct{}) // chunk 1000 has written y and waits for chunk 0
	locked := make(chan struct{})  // the client holds x and waits for y
	e := orderEnv(t, func(base int, h *orderHooks) {
		switch base {
		case 0:
			h.locked = func(ctx context.Context, attempt int) error {
				if attempt > 1 {
					return nil
				}
				return awaitCtx(ctx, locked)
			}
		case 1000:
			h.commit = func(_ context.Context, attempt int) error {
				if attempt == 1 {
					close(waiting)
				}
				return nil
			}
		}
	}, nil)
	tn := newTenant(t, e.env, "order-cycle")
	requireStatuses(t, e.do("POST", "/data/customers", tn.key, `[{"id": "x", "data_source": "stripe", "name": "v1"},
		{"id": "y", "data_source": "stripe", "name": "v1"}]`), "inserted", "inserted")
	var body strings.Builder
	customerRows(&body, "a", 999)
	body.WriteString(`{"id": "x", "data_source": "stripe", "name": "s"}` + "\n")
	customerRows(&body, "b", 999)
	body.WriteString(`{"id": "y", "data_source": "stripe", "name": "s"}` + "\n")

	answer := make(chan *http.Response, 1) // its status comes with the first chunk's answer
	go func() { res, _ := e.postStream(t, tn.key, strings.NewReader(body.String())); answer <- res }()
	<-waiting
	client := e.db.Gorm.Begin()
	require.NoError(t, client.Error)
	defer client.Rollback()
	update := func(id string) error {
		return client.Exec(`UPDATE customers SET name = 'c' WHERE source_id = ? AND id = ?`, tn.sourceID, id).Error
	}
	require.NoError(t, update("x"))
	var pid int
	require.NoError(t, client.Raw(`SELECT pg_backend_pid()`).Scan(&pid).Error)
	blocked := make(chan error, 1)
	go func() { blocked <- update("y") }()
	awaitLockWait(t, e.db.Gorm, pid)
	close(locked)
	if err := <-blocked; err == nil {
		require.NoError(t, client.Commit().Error)
	} else {
		require.True(t, models.IsRetryable(err), "the client is the deadlock's victim: %v", err)
	}

	res := <-answer
	sc := bufio.NewScanner(res.Body)
	readLines(t, sc, 999, "inserted")
	readLines(t, sc, 1, "updated")
	readLines(t, sc, 999, "inserted")
	readLines(t, sc, 1, "updated")
	require.False(t, sc.Scan())
	require.ErrorIs(t, e.waitEnd(t), io.EOF)
	var names []string
	require.NoError(t, e.db.Gorm.Raw(`SELECT name FROM customers WHERE source_id = ? AND id IN ('x', 'y') ORDER BY id`, tn.sourceID).Scan(&names).Error)
	require.Equal(t, []string{"s", "s"}, names, "the stream wrote last")
}

// awaitLockWait returns once the backend pid waits for a lock.
func awaitLockWait(t *testing.T, db *gorm.DB, pid int) {
	t.Helper()
	for {
		var n int
		require.NoError(t, db.Raw(`SELECT count(*) FROM pg_locks WHERE pid = ? AND NOT granted`, pid).Scan(&n).Error)
		if n > 0 {
			return
		}
	}
}
