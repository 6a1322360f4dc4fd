package ingest

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/recalc"
)

// writeGroups writes every group's changed rows, one statement per chunk, and queues their
// customers' recalculation, in one transaction (retried as a whole after a deadlock).
//
// The statuses compareGroup set were read without locks; the upsert's RETURNING decides under
// lock, so a concurrent writer can only turn a row into "unchanged" (it wrote the same content
// first) or an expected insert into an update.
func writeGroups[R any](ctx context.Context, s *Service, k *kind[R], account uuid.UUID, now time.Time, groups []*sourceGroup[R]) error {
	return s.inTx(ctx, func(tx *gorm.DB) error {
		var queue []recalc.CustomerKey
		for _, g := range groups {
			for chunk := range slices.Chunk(g.changed, s.chunkSize()) {
				written, err := k.write(ctx, tx, account, g.source, now, chunk)
				if err != nil {
					return err
				}
				for _, r := range chunk {
					inserted, ok := written[r.id]
					switch {
					case !ok:
						r.status = Unchanged
					case inserted:
						r.status = Inserted
					default:
						r.status = Updated
					}
					if ok && k.customer != nil {
						queue = append(queue, recalc.CustomerKey{AccountID: account, SourceID: g.source, CustomerID: k.customer(r.val)})
					}
				}
			}
		}
		return recalc.Enqueue(ctx, tx, queue)
	})
}
