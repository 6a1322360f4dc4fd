package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/models"
)

// Delivery is one event's delivery to one endpoint, as the deliveries log shows it.
// NextAttemptAt is nil once it is delivered or failed.
type Delivery struct {
	EventID        uuid.UUID
	Type           string
	Status         string
	Attempts       int
	LastStatusCode *int
	LastError      *string
	NextAttemptAt  *time.Time
	CreatedAt      time.Time
}

// Deliveries returns a page of the deliveries to the account's endpoint id, newest first
// (created_at, then event id, descending): ENOTFOUND when the account has no such endpoint.
// next is the cursor after the last one when more follow.
func Deliveries(ctx context.Context, db *gorm.DB, account, id uuid.UUID, page models.Page) (list []Delivery, next string, more bool, err error) {
	if ok, err := exists(ctx, db, account, id); err != nil || !ok {
		if err == nil {
			err = notFound(id.String())
		}
		return nil, "", false, err
	}
	limit := page.Limit
	if limit <= 0 {
		limit = models.DefaultPageLimit
	}
	q := `SELECT d.event_id, e.type, d.status, d.attempts, d.last_status_code, d.last_error, d.next_attempt_at, d.created_at
FROM webhook_deliveries d JOIN webhook_events e ON e.account_id = d.account_id AND e.id = d.event_id
WHERE d.account_id = $1 AND d.endpoint_id = $2`
	args := []any{[16]byte(account), [16]byte(id)}
	if page.Cursor != "" {
		at, ev, err := decodeCursor(page.Cursor)
		if err != nil {
			return nil, "", false, err
		}
		args = append(args, at, [16]byte(ev))
		q += " AND (d.created_at, d.event_id) < ($3, $4)"
	}
	args = append(args, limit+1)
	q += fmt.Sprintf(" ORDER BY d.created_at DESC, d.event_id DESC LIMIT $%d", len(args))
	if list, err = scanDeliveries(ctx, db, q, args); err != nil {
		return nil, "", false, err
	}
	if len(list) > limit {
		list, more = list[:limit], true
		last := list[limit-1]
		next = encodeCursor(last.CreatedAt, last.EventID)
	}
	return list, next, more, nil
}

func scanDeliveries(ctx context.Context, db *gorm.DB, q string, args []any) ([]Delivery, error) {
	rows, err := db.WithContext(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("read webhook deliveries: %w", err)
	}
	defer rows.Close()
	list := []Delivery{}
	for rows.Next() {
		var d Delivery
		if err := rows.Scan(&d.EventID, &d.Type, &d.Status, &d.Attempts, &d.LastStatusCode, &d.LastError,
			&d.NextAttemptAt, &d.CreatedAt); err != nil {
			return nil, fmt.Errorf("scan webhook delivery: %w", err)
		}
		list = append(list, d)
	}
	return list, rows.Err()
}

// cursorPrefix binds this list's cursors (models.EncodeTimeCursor) to it.
const cursorPrefix = "w."

func encodeCursor(at time.Time, id uuid.UUID) string {
	return models.EncodeTimeCursor(cursorPrefix, at, id)
}

func decodeCursor(s string) (time.Time, uuid.UUID, error) {
	return models.DecodeTimeCursor(cursorPrefix, s)
}
