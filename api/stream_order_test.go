package api_test

import (
	"bufio"
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/ingest"
	"invoice-ingest/models"
	"invoice-ingest/validation"
)

// orderHooks is an ingest.Order whose Locked runs locked after it, whose Commit runs commit
// first and committed after (each when set, given which write transaction of the chunk it is),
// and whose Ended reports to ended after it (when set).
type orderHooks struct {
	ingest.Order
	locked    func(ctx context.Context, attempt int) error
	commit    func(ctx context.Context, attempt int) error
	committed func(attempt int, err error)
	ended     func(committed bool)
	tries     int
}

func (h *orderHooks) Locked(ctx context.Context, tx *gorm.DB) error {
	if err := h.Order.Locked(ctx, tx); err != nil || h.locked == nil {
		return err
	}
	return h.locked(ctx, h.tries+1)
}

func (h *orderHooks) Commit(ctx context.Context, tx *gorm.DB) error {
	h.tries++
	if h.commit != nil {
		if err := h.commit(ctx, h.tries); err != nil {
			return err
		}
	}
	err := h.Order.Commit(ctx, tx)
	if h.committed != nil {
		h.committed(h.tries, err)
	}
	return err
}

func (h *orderHooks) Ended(committed bool) {
	h.Order.Ended(committed)
	if h.ended != nil {
		h.ended(committed)
	}
}

// orderEnv is a stream environment whose chunk batches get hooks(base) around their Order, and
// which tells blocked (when set) which chunks waited for an earlier one sharing rows.
func orderEnv(t *testing.T, hooks func(base int, h *orderHooks), blocked func(base int)) *streamEnv {
	s := &api.Server{Config: streamConfig(t, func(*config.Config) {})}
	api.WrapStreamBatch(s, func(base int, next api.BatchFunc) api.BatchFunc {
		return func(ctx context.Context, account uuid.UUID, rows validation.Rows, opt ingest.Options) ([]ingest.Result, error) {
			h := &orderHooks{Order: opt.Order}
			hooks(base, h)
			opt.Order = h
			return next(ctx, account, rows, opt)
		}
	})
	if blocked != nil {
		api.OnStreamBlocked(s, blocked)
	}
	return newStreamEnv(t, s, nil)
}

// commits records the chunks' write transactions as they end, in order.
type commits struct {
	mu  sync.Mutex
	log []ended
}

type ended struct {
	base      int
	committed bool
}

func (c *commits) hook(base int) func(bool) {
	return func(committed bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.log = append(c.log, ended{base, committed})
	}
}

func (c *commits) committed() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for _, e := range c.log {
		if e.committed {
			out = append(out, e.base)
		}
	}
	return out
}

// awaitCtx waits for ch or the end of ctx.
func awaitCtx(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Two chunks of one stream whose rows differ write at once: the second's statements have run
// before the first commits, and its rows are not visible until the first committed.
func TestStreamChunksWriteAtOnce(t *testing.T) {
	t.Parallel()
	second := make(chan struct{}) // chunk 1000 has written, waits to commit
	var log commits
	var seen int64 = -1
	var e *streamEnv
	var src uuid.UUID
	e = orderEnv(t, func(base int, h *orderHooks) {
		h.ended = log.hook(base)
		switch base {
		case 0:
			h.commit = func(ctx context.Context, _ int) error {
				if err := awaitCtx(ctx, second); err != nil {
					return err
				}
				return e.db.Gorm.Raw(`SELECT count(*) FROM customers WHERE source_id = ? AND id LIKE 'b%'`, src).Scan(&seen).Error
			}
		case 1000:
			h.commit = func(context.Context, int) error { close(second); return nil }
		}
	}, nil)
	tn := newTenant(t, e.env, "order-at-once")
	src = uuid.MustParse(tn.sourceID)
	var body strings.Builder
	customerRows(&body, "a", 1000)
	customerRows(&body, "b", 1000)

	res, _ := e.postStream(t, tn.key, strings.NewReader(body.String()))
	sc := bufio.NewScanner(res.Body)
	readLines(t, sc, 2000, "inserted")
	require.False(t, sc.Scan())
	require.ErrorIs(t, e.waitEnd(t), io.EOF)
	require.Zero(t, seen, "the second chunk's rows before the first committed")
	require.Equal(t, []int{0, 1000}, log.committed())
	require.EqualValues(t, 2000, e.count(`SELECT count(*) FROM customers WHERE source_id = ? AND id ~ '^[ab]'`, tn.sourceID))
}

// A chunk that writes a row an earlier chunk still writes waits for that one's commit before
// its transaction begins, and then answers from what it committed.
func TestStreamChunksSharingRowsWriteInTurn(t *testing.T) {
	t.Parallel()
	blocked := make(chan int, 8)
	var log commits
	e := orderEnv(t, func(base int, h *orderHooks) {
		h.ended = log.hook(base)
		if base == 0 { // commits only once the next chunk waits for it
			h.commit = func(ctx context.Context, _ int) error {
				select {
				case <-blocked:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
	}, func(base int) { blocked <- base })
	tn := newTenant(t, e.env, "order-in-turn")
	var body strings.Builder
	customerRows(&body, "s", 1000)
	body.WriteString(`{"id": "s7", "data_source": "stripe", "name": "again"}` + "\n")
	customerRows(&body, "t", 999)

	res, _ := e.postStream(t, tn.key, strings.NewReader(body.String()))
	sc := bufio.NewScanner(res.Body)
	readLines(t, sc, 1000, "inserted")
	readLines(t, sc, 1, "updated")
	readLines(t, sc, 999, "inserted")
	require.False(t, sc.Scan())
	require.ErrorIs(t, e.waitEnd(t), io.EOF)
	require.Equal(t, []ended{{0, true}, {1000, true}}, log.log, "the second chunk wrote once, after the first")
	var name string
	require.NoError(t, e.db.Gorm.Raw(`SELECT name FROM customers WHERE source_id = ? AND id = 's7'`, tn.sourceID).Scan(&name).Error)
	require.Equal(t, "again", name)
}

// When a chunk fails while the next one has written and waits to commit, the next one rolls
// back: the stream ends with the failure after the chunk before, and nothing of either chunk is
// stored.
func TestStreamChunkFailsWhileNextWrites(t *testing.T) {
	t.Parallel()
	second := make(chan struct{})
	var log commits
	e := orderEnv(t, func(base int, h *orderHooks) {
		h.ended = log.hook(base)
		switch base {
		case 1000:
			h.commit = func(ctx context.Context, _ int) error {
				if err := awaitCtx(ctx, second); err != nil {
					return err
				}
				return models.Errorf(models.EUNAVAILABLE, "The database is unavailable (test).")
			}
		case 2000:
			h.commit = func(context.Context, int) error { close(second); return nil }
		}
	}, nil)
	tn := newTenant(t, e.env, "order-fails")
	var body strings.Builder
	customerRows(&body, "f", 3000)

	res, _ := e.postStream(t, tn.key, strings.NewReader(body.String()))
	sc := bufio.NewScanner(res.Body)
	readLines(t, sc, 1000, "inserted")
	requireErrorLine(t, sc, "unavailable", "The database is unavailable (test).")
	err := e.waitEnd(t)
	require.Error(t, err)
	require.NotErrorIs(t, err, io.EOF)
	require.Equal(t, []int{0}, log.committed())
	require.Contains(t, log.log, ended{2000, false}, "the chunk after the failed one had a transaction open")
	require.EqualValues(t, 1000, e.count(`SELECT count(*) FROM customers WHERE source_id = ? AND id LIKE 'f%'`, tn.sourceID))
}

// When a chunk's transaction is aborted (a deadlock) while the next one waits to commit, the
// next one rolls back too and writes again after the first's retry committed.
func TestStreamChunkRetriedWhileNextWrites(t *testing.T) {
	t.Parallel()
	second := make(chan struct{}, 8)
	told := make(chan struct{}) // chunk 1000's first wait for chunk 0 returned
	var log commits
	e := orderEnv(t, func(base int, h *orderHooks) {
		h.ended = log.hook(base)
		switch base {
		case 0:
			// Its retry waits (holding no lock) until chunk 1000 learnt that its first attempt
			// did not commit: else it might commit before chunk 1000 looks.
			h.ended = func(committed bool) {
				log.hook(0)(committed)
				if !committed && h.tries == 1 {
					<-told
				}
			}
			h.commit = func(ctx context.Context, attempt int) error {
				if attempt > 1 {
					return nil
				}
				select {
				case <-second:
				case <-ctx.Done():
					return ctx.Err()
				}
				return &pgconn.PgError{Code: "40P01", Message: "deadlock detected (test)"}
			}
		case 1000:
			h.commit = func(context.Context, int) error { second <- struct{}{}; return nil }
			h.committed = func(attempt int, _ error) {
				if attempt == 1 {
					close(told)
				}
			}
		}
	}, nil)
	tn := newTenant(t, e.env, "order-retried")
	var body strings.Builder
	customerRows(&body, "r", 2000)

	res, _ := e.postStream(t, tn.key, strings.NewReader(body.String()))
	sc := bufio.NewScanner(res.Body)
	readLines(t, sc, 2000, "inserted")
	require.False(t, sc.Scan())
	require.ErrorIs(t, e.waitEnd(t), io.EOF)
	require.Equal(t, []int{0, 1000}, log.committed())
	require.Contains(t, log.log, ended{1000, false}, "the second chunk rolled back once")
	require.EqualValues(t, 2000, e.count(`SELECT count(*) FROM customers WHERE source_id = ? AND id LIKE 'r%'`, tn.sourceID))
}
