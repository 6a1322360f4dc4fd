package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// Transaction runs fn in one GORM transaction on ctx, and reports a transaction its context
// ended with the context's error (see TxError).
func Transaction(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	return TxError(ctx, db.WithContext(ctx).Transaction(fn))
}

// TxError returns err, a transaction's outcome on ctx, with ctx's error in its chain when ctx
// ended and err is database/sql's ErrTxDone.
//
// database/sql rolls a transaction back by itself once its context ends (a client that went
// away, a request deadline), and a Commit or a statement that comes after that rollback fails
// with ErrTxDone, "transaction has already been committed or rolled back", which names no cause:
// the caller would take a client gone just before the commit for an internal fault. Nothing was
// committed either way. The text keeps ErrTxDone; errors.Is finds context.Canceled or
// context.DeadlineExceeded.
func TxError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, sql.ErrTxDone) && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w (%w)", ctxErr, err)
	}
	return err
}
