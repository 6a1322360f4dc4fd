package webhooks_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"invoice-ingest/imports"
	"invoice-ingest/models"
	"invoice-ingest/webhooks"
)

// finishImport records a finished JSON import of the fixture's account in one transaction with
// its events, committed or rolled back.
func (f *fixture) finishImport(commit bool) uuid.UUID {
	f.t.Helper()
	h := imports.Header{AccountID: f.account, ID: uuid.New(), KeyID: uuid.New(), Entity: "customers",
		ContentType: "application/json", StartedAt: models.Now()}
	err := f.db.Gorm.Transaction(func(tx *gorm.DB) error {
		if err := imports.RecordRequest(tx, h, imports.Batch{Counts: imports.Counts{Rows: 2, Inserted: 2}}); err != nil {
			return err
		}
		if err := webhooks.ImportFinished(context.Background(), tx, f.account, h.ID, models.Now()); err != nil {
			return err
		}
		if !commit {
			return errRollback
		}
		return nil
	})
	if commit {
		require.NoError(f.t, err)
	} else {
		require.ErrorIs(f.t, err, errRollback)
	}
	return h.ID
}

var errRollback = models.Errorf(models.EINVALID, "rolled back by the test")

// A finished import records import.completed (its import object as data) and, as it queued no
// recalculation, import.metrics_caught_up, for the endpoints subscribed to each; an endpoint
// subscribed to neither gets nothing.
func TestImportFinishedEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	both := f.endpoint("http://127.0.0.1:1/both", webhooks.ImportCompleted, webhooks.ImportCaughtUp)
	completed := f.endpoint("http://127.0.0.1:1/completed", webhooks.ImportCompleted)
	other := f.endpoint("http://127.0.0.1:1/mrr", webhooks.MRRChanged)
	id := f.finishImport(true)

	types := func(e webhooks.Endpoint) []string {
		var out []string
		for _, d := range f.deliveries(e) {
			out = append(out, d.Type)
		}
		return out
	}
	require.ElementsMatch(t, []string{webhooks.ImportCompleted, webhooks.ImportCaughtUp}, types(both))
	require.Equal(t, []string{webhooks.ImportCompleted}, types(completed))
	require.Empty(t, types(other))

	var body []byte
	require.NoError(t, f.db.Gorm.Raw(`SELECT payload FROM webhook_events WHERE account_id = $1 AND type = $2`,
		[16]byte(f.account), webhooks.ImportCompleted).Row().Scan(&body))
	var data struct {
		ID, Status string
		Rows       int
		Metrics    struct{ Pending int }
	}
	require.NoError(t, json.Unmarshal(decode(t, body).Data, &data))
	require.Equal(t, id.String(), data.ID)
	require.Equal(t, "completed", data.Status)
	require.Equal(t, 2, data.Rows)

	// Recording the same import's events again (a second cause) is a no-op.
	require.NoError(t, f.db.Gorm.Transaction(func(tx *gorm.DB) error {
		return webhooks.ImportFinished(context.Background(), tx, f.account, id, models.Now())
	}))
	require.Len(t, f.deliveries(both), 2)
}

// An import whose transaction rolls back records no event; an account without endpoints
// records nothing at all.
func TestNoEventWithoutCommitOrEndpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e := f.endpoint("http://127.0.0.1:1/", webhooks.Types...)
	f.finishImport(false)
	require.Empty(t, f.deliveries(e), "rolled back")
	require.Zero(t, f.events())

	require.NoError(t, webhooks.Delete(context.Background(), f.db.Gorm, f.account, e.ID))
	f.finishImport(true)
	f.record(time.Now(), webhooks.Event{Type: webhooks.MRRChanged, Data: 1})
	require.Zero(t, f.events(), "no endpoint: nothing stored")
}

// events counts the fixture account's stored events.
func (f *fixture) events() int {
	f.t.Helper()
	var n int
	require.NoError(f.t, f.db.Gorm.Raw(`SELECT count(*) FROM webhook_events WHERE account_id = $1`, [16]byte(f.account)).Row().Scan(&n))
	return n
}
