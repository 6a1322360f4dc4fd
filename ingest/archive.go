package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/models"
	"invoice-ingest/recalc"
)

// Archive hides an invoice from default lists and from metrics and queues its customer. Archiving
// an archived invoice changes nothing and queues nothing.
func (s *Service) Archive(ctx context.Context, account, source uuid.UUID, id string) (models.Invoice, error) {
	return s.setArchived(ctx, account, source, id, true)
}

// Restore undoes Archive and queues the customer; restoring a live invoice changes nothing.
func (s *Service) Restore(ctx context.Context, account, source uuid.UUID, id string) (models.Invoice, error) {
	return s.setArchived(ctx, account, source, id, false)
}

func (s *Service) setArchived(ctx context.Context, account, source uuid.UUID, id string, archive bool) (models.Invoice, error) {
	var inv models.Invoice
	err := s.inTx(ctx, func(tx *gorm.DB, sqlTx *sql.Tx) error {
		now := s.now()
		q := tx.Model(&models.Invoice{}).Where("account_id = ? AND source_id = ? AND id = ?", account, source, id)
		var res *gorm.DB
		if archive {
			res = q.Where("archived_at IS NULL").Updates(map[string]any{"archived_at": now, "updated_at": now})
		} else {
			res = q.Where("archived_at IS NOT NULL").Updates(map[string]any{"archived_at": nil, "updated_at": now})
		}
		if res.Error != nil {
			return fmt.Errorf("archive invoice: %w", res.Error)
		}
		err := tx.Where("account_id = ? AND source_id = ? AND id = ?", account, source, id).Take(&inv).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return models.Errorf(models.ENOTFOUND, "Invoice %s does not exist.", id)
		}
		if err != nil || res.RowsAffected == 0 {
			return err
		}
		return recalc.Enqueue(ctx, sqlTx, []recalc.CustomerKey{{AccountID: account, SourceID: source, CustomerID: inv.CustomerID}})
	})
	return inv, err
}
