package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// delivery is one claimed delivery with what sending it needs.
type delivery struct {
	account, endpoint, event uuid.UUID
	token                    string // the claim's locked_by
	attempts                 int    // attempts made before this one
	url, secret              string
	body                     []byte
	createdAt                time.Time
}

// dueAccountsSQL finds, without locking anything, the accounts with deliveries due at $1: on
// Citus a row-locking statement must name one account, so deliveries are claimed account by
// account (claimSQL).
const dueAccountsSQL = `
SELECT DISTINCT account_id FROM webhook_deliveries
WHERE status = 'pending' AND next_attempt_at <= $1
ORDER BY account_id
LIMIT 1000`

// claimSQL takes up to $4 pending deliveries of account $5 due at $1 (the pool's clock), oldest
// due first, and marks them held by $3 until $2: the lease is next_attempt_at itself, so a claim
// whose worker died is due again when its lease ends. It runs as its own statement and commits at
// once; SKIP LOCKED makes concurrent claimers take disjoint rows without waiting.
const claimSQL = `
UPDATE webhook_deliveries d
SET next_attempt_at = $2, locked_by = $3
FROM (
    SELECT account_id, endpoint_id, event_id FROM webhook_deliveries
    WHERE account_id = $5 AND status = 'pending' AND next_attempt_at <= $1
    ORDER BY next_attempt_at
    LIMIT $4
    FOR UPDATE SKIP LOCKED
) c, webhook_endpoints w, webhook_events e
WHERE d.account_id = $5 AND d.endpoint_id = c.endpoint_id AND d.event_id = c.event_id
  AND w.account_id = $5 AND w.id = d.endpoint_id
  AND e.account_id = $5 AND e.id = d.event_id
RETURNING d.account_id, d.endpoint_id, d.event_id, d.attempts, w.url, w.secret, e.payload, e.created_at`

// claim takes the next batch, held by token: up to BatchSize deliveries, from the accounts with
// due deliveries in turn, starting at a different one each time (turn), so that one account's
// backlog does not hold up the others'.
func (p *Pool) claim(ctx context.Context, token string, turn int) ([]delivery, error) {
	now := p.cfg.Now()
	accounts, err := p.dueAccounts(ctx, now)
	if err != nil {
		return nil, err
	}
	var out []delivery
	for i := range accounts {
		if len(out) >= p.cfg.BatchSize {
			break
		}
		account := accounts[(turn+i)%len(accounts)]
		batch, err := p.claimAccount(ctx, account, token, now, p.cfg.BatchSize-len(out))
		if err != nil {
			return out, err
		}
		out = append(out, batch...)
	}
	return out, nil
}

// dueAccounts runs dueAccountsSQL.
func (p *Pool) dueAccounts(ctx context.Context, now time.Time) ([]uuid.UUID, error) {
	rows, err := p.db.SQL.QueryContext(ctx, dueAccountsSQL, now)
	if err != nil {
		return nil, fmt.Errorf("find due webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var a uuid.UUID
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("scan due webhook account: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// claimAccount claims up to limit of account's due deliveries.
func (p *Pool) claimAccount(ctx context.Context, account uuid.UUID, token string, now time.Time, limit int) ([]delivery, error) {
	rows, err := p.db.SQL.QueryContext(ctx, claimSQL, now, now.Add(p.cfg.Lease), token, limit, account)
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []delivery
	for rows.Next() {
		d := delivery{token: token}
		if err := rows.Scan(&d.account, &d.endpoint, &d.event, &d.attempts, &d.url, &d.secret, &d.body, &d.createdAt); err != nil {
			return nil, fmt.Errorf("scan webhook delivery: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// outcome is what an attempt ended with.
type outcome struct {
	status     string // Pending (to retry), Delivered or Failed
	statusCode int    // 0: no answer
	err        string // "" when delivered
	next       time.Time
}

// settleSQL records an attempt's outcome on a delivery still held by the claim $4: a delivery
// whose claim was lost (its lease ended and another worker took it) is left to that worker.
const settleSQL = `
UPDATE webhook_deliveries
SET status = $5, attempts = attempts + 1, last_status_code = NULLIF($6, 0), last_error = NULLIF($7, ''),
    next_attempt_at = $8, locked_by = NULL
WHERE account_id = $1 AND endpoint_id = $2 AND event_id = $3 AND locked_by = $4`

// settle stores o for d.
func (p *Pool) settle(ctx context.Context, d delivery, o outcome) error {
	var next *time.Time
	if o.status == Pending {
		next = &o.next
	}
	_, err := p.db.SQL.ExecContext(ctx, settleSQL, d.account, d.endpoint, d.event, d.token, o.status, o.statusCode, o.err, next)
	if err != nil {
		return fmt.Errorf("record webhook attempt: %w", err)
	}
	return nil
}

// releaseSQL gives back a claimed delivery without counting an attempt, due at $5.
const releaseSQL = `
UPDATE webhook_deliveries SET next_attempt_at = $5, locked_by = NULL
WHERE account_id = $1 AND endpoint_id = $2 AND event_id = $3 AND locked_by = $4`

// release gives d back, due at once, after its attempt was cut short by a stop.
func (p *Pool) release(ctx context.Context, d delivery) error {
	_, err := p.db.SQL.ExecContext(ctx, releaseSQL, d.account, d.endpoint, d.event, d.token, p.cfg.Now())
	if err != nil {
		return fmt.Errorf("release webhook delivery: %w", err)
	}
	return nil
}
