package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Event is something that happened to an account, to be sent to its endpoints subscribed to
// Type. Subject, when set, names what can happen only once (an import's id): a second event of
// the type and subject is not recorded.
type Event struct {
	Type    string
	Subject string
	Data    any
}

// payload is the body of every delivery of an event (SPEC 9).
type payload struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      any       `json:"data"`
}

// recordSQL stores the events $3.. of account $1 at $2 that some endpoint of the account
// subscribed to, and one pending delivery per subscribed endpoint, due at once. An event whose
// (type, subject) is stored already is skipped, with its deliveries.
const recordSQL = `
WITH ev AS (
    INSERT INTO webhook_events (account_id, id, type, subject, payload, created_at)
    SELECT $1, e.id, e.type, NULLIF(e.subject, ''), e.payload, $2
    FROM unnest($3::uuid[], $4::text[], $5::text[], $6::bytea[]) AS e(id, type, subject, payload)
    WHERE EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.account_id = $1 AND e.type = ANY(w.events))
    ON CONFLICT (account_id, type, subject) DO NOTHING
    RETURNING id, type
)
INSERT INTO webhook_deliveries (account_id, endpoint_id, event_id, status, next_attempt_at, created_at)
SELECT $1, w.id, ev.id, 'pending', $2, $2
FROM ev JOIN webhook_endpoints w ON w.account_id = $1 AND ev.type = ANY(w.events)`

// Record stores events of account, happened at at, in tx: the transaction of their cause.
func Record(ctx context.Context, tx *gorm.DB, account uuid.UUID, at time.Time, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	at = at.UTC().Truncate(time.Microsecond)
	ids := make([][16]byte, len(events))
	types := make([]string, len(events))
	subjects := make([]string, len(events))
	bodies := make([][]byte, len(events))
	for i, e := range events {
		id := uuid.New()
		body, err := json.Marshal(payload{ID: EventID(id), Type: e.Type, CreatedAt: at, Data: e.Data})
		if err != nil {
			return fmt.Errorf("encode %s event: %w", e.Type, err)
		}
		ids[i], types[i], subjects[i], bodies[i] = id, e.Type, e.Subject, body
	}
	if err := tx.WithContext(ctx).Exec(recordSQL, [16]byte(account), at, ids, types, subjects, bodies).Error; err != nil {
		return fmt.Errorf("record webhook events: %w", err)
	}
	return nil
}

// subscriptions returns, for each of accounts that has endpoints, the event types they
// subscribed to. It lets the hooks skip building events nobody wants (most accounts have no
// endpoint: one index lookup). Planned at every run, not prepared: it runs in a write's
// transaction, where a plan cached while webhook_endpoints was empty would scan the table.
func subscriptions(ctx context.Context, tx *gorm.DB, accounts []uuid.UUID) (map[uuid.UUID]map[string]bool, error) {
	raw := make([][16]byte, len(accounts))
	for i, a := range accounts {
		raw[i] = a
	}
	rows, err := tx.WithContext(ctx).Raw(`SELECT DISTINCT account_id, unnest(events) FROM webhook_endpoints
WHERE account_id = ANY($1::uuid[])`, raw).Rows()
	if err != nil {
		return nil, fmt.Errorf("read webhook subscriptions: %w", err)
	}
	defer rows.Close()
	out := map[uuid.UUID]map[string]bool{}
	for rows.Next() {
		var a uuid.UUID
		var t string
		if err := rows.Scan(&a, &t); err != nil {
			return nil, fmt.Errorf("scan webhook subscription: %w", err)
		}
		if out[a] == nil {
			out[a] = map[string]bool{}
		}
		out[a][t] = true
	}
	return out, rows.Err()
}
