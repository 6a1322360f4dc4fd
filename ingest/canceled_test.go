package ingest_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"invoice-ingest/ingest"
	"invoice-ingest/models/dbtest"
)

// A batch whose context ends after its last statement and before its commit (a JSON request's
// client going away just then) fails with the context's error, not with a bare
// "sql: transaction has already been committed or rolled back" that the API would log as an
// internal error, and leaves nothing written.
func TestCanceledBeforeCommitSaysCanceled(t *testing.T) {
	t.Parallel()
	db := dbtest.DB(t)
	acc, _, err := db.CreateAccount(context.Background(), "canceled")
	require.NoError(t, err)
	_, _, err = db.CreateDataSource(context.Background(), acc.ID, "s")
	require.NoError(t, err)
	svc := &ingest.Service{DB: db}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	recorded := false
	opt := ingest.Options{Record: func(tx *gorm.DB, _ []ingest.Result, _ []uuid.UUID, wrote bool) error {
		require.True(t, wrote, "recorded in the write transaction")
		recorded = true
		cancel()
		dbtest.AwaitRolledBack(t, tx)
		return nil // the batch goes on to its commit
	}}
	_, err = svc.Customers(ctx, acc.ID, raws(`{"id": "cus_gone", "data_source": "s", "name": "Gone"}`), opt)
	require.True(t, recorded)
	require.ErrorIs(t, err, context.Canceled, "the cause, not a bare sql.ErrTxDone: %v", err)

	var n int64
	require.NoError(t, db.Gorm.Raw(`SELECT count(*) FROM customers WHERE account_id = ?`, acc.ID).Scan(&n).Error)
	require.Zero(t, n, "nothing committed")
}
