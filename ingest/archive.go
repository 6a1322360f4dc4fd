package ingest

import (
	"context"

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
	err := s.inTx(ctx, account, nil, func(tx *gorm.DB) error {
		var changed bool
		var err error
		inv, changed, err = models.SetInvoiceArchived(ctx, tx, account, source, id, archive, s.now())
		if err != nil || !changed {
			return err
		}
		return recalc.Enqueue(ctx, tx, []recalc.CustomerKey{{AccountID: account, SourceID: source, CustomerID: inv.CustomerID}})
	})
	return inv, err
}
