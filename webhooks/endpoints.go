package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/models"
)

// MaxEndpoints bounds an account's endpoints: each event becomes one delivery per subscribed
// endpoint, so the bound is also what one event can cost.
const MaxEndpoints = 20

// Endpoint is where an account wants events of Events sent. Secret is set only in what Create
// returns: the secret is shown once.
type Endpoint struct {
	AccountID uuid.UUID
	ID        uuid.UUID
	URL       string
	Events    []string
	Secret    string
	CreatedAt time.Time
}

// NewEndpoint is what a client asks for.
type NewEndpoint struct {
	URL    string
	Events []string
}

// check validates n (URL through g) and returns its events de-duplicated, in Types order.
func (n NewEndpoint) check(ctx context.Context, g Guard) ([]string, error) {
	if len(n.Events) == 0 {
		return nil, models.Errorf(models.EINVALID, "events: at least one of %s.", typeList())
	}
	var events []string
	for _, e := range n.Events {
		if !knownType(e) {
			return nil, models.Errorf(models.EINVALID, "events: %q is not an event type; use %s.", cut(e, 100), typeList())
		}
	}
	for _, t := range Types {
		if slices.Contains(n.Events, t) {
			events = append(events, t)
		}
	}
	return events, g.CheckURL(ctx, n.URL)
}

// cut shortens s for an error message.
func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// newSecret is whsec_ and the base64 of 32 random bytes, the Standard Webhooks form: the key
// signing deliveries is the decoded bytes.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// Create adds an endpoint to the account, checking its URL with g: EINVALID for a bad URL or
// event list, or when the account has MaxEndpoints already.
func Create(ctx context.Context, db *gorm.DB, g Guard, account uuid.UUID, n NewEndpoint, now time.Time) (Endpoint, error) {
	events, err := n.check(ctx, g)
	if err != nil {
		return Endpoint{}, err
	}
	e := Endpoint{AccountID: account, ID: uuid.New(), URL: n.URL, Events: events, Secret: newSecret(), CreatedAt: now}
	// The count and the insert in one statement; two creations at once may both pass the bound,
	// which only matters for a bound this loose.
	res := db.WithContext(ctx).Exec(`
INSERT INTO webhook_endpoints (account_id, id, url, events, secret, created_at)
SELECT $1, $2, $3, $4, $5, $6
WHERE (SELECT count(*) FROM webhook_endpoints WHERE account_id = $1) < $7`,
		[16]byte(account), [16]byte(e.ID), e.URL, e.Events, e.Secret, now, MaxEndpoints)
	if res.Error != nil {
		return Endpoint{}, fmt.Errorf("create webhook endpoint: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return Endpoint{}, models.Errorf(models.EINVALID, "An account has at most %d webhook endpoints; delete one first.", MaxEndpoints)
	}
	return e, nil
}

// List returns the account's endpoints, oldest first, without their secrets.
func List(ctx context.Context, db *gorm.DB, account uuid.UUID) ([]Endpoint, error) {
	rows, err := db.WithContext(ctx).Raw(`SELECT id, url, array_to_string(events, ','), created_at FROM webhook_endpoints
WHERE account_id = $1 ORDER BY created_at, id`, [16]byte(account)).Rows()
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	defer rows.Close()
	list := []Endpoint{}
	for rows.Next() {
		e := Endpoint{AccountID: account}
		var events string // event types have no comma
		if err := rows.Scan(&e.ID, &e.URL, &events, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("scan webhook endpoint: %w", err)
		}
		e.Events = strings.Split(events, ",")
		list = append(list, e)
	}
	return list, rows.Err()
}

// Delete removes the account's endpoint id and its deliveries (pending ones are not sent):
// ENOTFOUND when the account has no such endpoint.
func Delete(ctx context.Context, db *gorm.DB, account, id uuid.UUID) error {
	res := db.WithContext(ctx).Exec(`DELETE FROM webhook_endpoints WHERE account_id = $1 AND id = $2`,
		[16]byte(account), [16]byte(id))
	if res.Error != nil {
		return fmt.Errorf("delete webhook endpoint: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return notFound(id.String())
	}
	return nil
}

// notFound is the error for an endpoint id the account does not have.
func notFound(id string) error {
	return models.Errorf(models.ENOTFOUND, "Webhook endpoint %s does not exist.", id)
}

// exists says whether the account has endpoint id.
func exists(ctx context.Context, db *gorm.DB, account, id uuid.UUID) (bool, error) {
	var n int
	err := db.WithContext(ctx).Raw(`SELECT count(*) FROM webhook_endpoints WHERE account_id = $1 AND id = $2`,
		[16]byte(account), [16]byte(id)).Row().Scan(&n)
	if err != nil {
		return false, fmt.Errorf("find webhook endpoint: %w", err)
	}
	return n > 0, nil
}
