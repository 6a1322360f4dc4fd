package models

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// SetInvoiceArchived archives (archive true) or restores an invoice of one source in the caller's
// transaction, and returns it as stored afterwards and whether it changed: archiving an archived
// invoice, or restoring a live one, changes nothing. An unknown invoice is an ENOTFOUND error.
func SetInvoiceArchived(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, id string, archive bool, now time.Time) (Invoice, bool, error) {
	q := tx.WithContext(ctx).Model(&Invoice{}).Where("account_id = ? AND source_id = ? AND id = ?", account, source, id)
	var res *gorm.DB
	if archive {
		res = q.Where("archived_at IS NULL").Updates(map[string]any{"archived_at": now, "updated_at": now})
	} else {
		res = q.Where("archived_at IS NOT NULL").Updates(map[string]any{"archived_at": nil, "updated_at": now})
	}
	if res.Error != nil {
		return Invoice{}, false, fmt.Errorf("archive invoice: %w", res.Error)
	}
	inv, err := getByKey[Invoice](tx.WithContext(ctx), account, source, id, "Invoice")
	return inv, res.RowsAffected > 0, err
}
