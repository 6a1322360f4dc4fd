package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"gorm.io/gorm"
)

// AwaitRolledBack waits until database/sql has rolled tx back by itself (its context ended): a
// statement on tx under a context that has not ended then fails with sql.ErrTxDone. Each try is
// one round trip; database/sql's watcher marks the transaction done as soon as it runs.
func AwaitRolledBack(t testing.TB, tx *gorm.DB) {
	t.Helper()
	for {
		err := tx.WithContext(context.Background()).Exec("SELECT 1").Error
		if errors.Is(err, sql.ErrTxDone) {
			return
		}
		if err != nil {
			t.Fatalf("awaiting the rollback: %v", err)
		}
	}
}
