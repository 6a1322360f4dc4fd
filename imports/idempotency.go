package imports

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"invoice-ingest/models"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Fingerprint is the SHA-256 of a request's method, path, query and (decompressed) body: what
// makes a request with the same Idempotency-Key the same request.
func Fingerprint(method, path, query string, body []byte) []byte {
	h := sha256.New()
	for _, part := range []string{method, path, query} {
		fmt.Fprintf(h, "%d:%s\n", len(part), part)
	}
	h.Write(body)
	return h.Sum(nil)
}

// Key states, as Claim finds them.
const (
	KeyClaimed = iota // the key is this request's now: run it, then store or release
	KeyInUse          // another request with the key runs (its lease is valid): 409
	KeyReused         // the key answered another request: 422
	KeyReplay         // the key answered this same request: replay Stored
)

// Claim is the outcome of ClaimKey.
type Claim struct {
	State  int
	Token  uuid.UUID // KeyClaimed: what Answer and ReleaseKey must name
	Stored Answer    // KeyReplay: the answer (Status, Body)
	Import uuid.UUID // KeyReplay: the import that answered
}

// claimSQL takes the key for the request when it is free: absent, expired (expires_at), or running
// with a lease that ran out (its holder crashed). Otherwise it returns the row as it is. Its own
// statement, committed at once, so another process sees a running key. $7 is this process's clock:
// Citus refuses volatile functions in an UPDATE.
const claimSQL = `
WITH ins AS (
    INSERT INTO idempotency_keys AS k (account_id, key, fingerprint, token, status, lease_until, expires_at)
    VALUES ($1, $2, $3, $4, 'running', $7::timestamptz + $5::float8 * interval '1 millisecond',
            $7::timestamptz + $6::float8 * interval '1 millisecond')
    ON CONFLICT (account_id, key) DO UPDATE
    SET fingerprint = excluded.fingerprint, token = excluded.token, status = 'running',
        lease_until = excluded.lease_until, expires_at = excluded.expires_at,
        response_status = NULL, response_body = NULL, import_id = NULL, created_at = $7::timestamptz
    WHERE (k.status = 'running' AND k.lease_until < $7::timestamptz) OR k.expires_at < $7::timestamptz
    RETURNING 1
)
SELECT true, '', ''::bytea, 0, ''::bytea, NULL::uuid FROM ins
UNION ALL
SELECT false, k.status, k.fingerprint, coalesce(k.response_status, 0), coalesce(k.response_body, ''), k.import_id
FROM idempotency_keys k
WHERE k.account_id = $1 AND k.key = $2 AND NOT EXISTS (SELECT 1 FROM ins)`

// ClaimKey takes the account's Idempotency-Key for a request of fingerprint, for lease (the
// longest the request may run), or says what holds it. A stored answer is kept for ttl. It runs
// one statement (rarely a second one: when a concurrent request committed the key between the
// statement's snapshot and its insert).
func ClaimKey(ctx context.Context, db *gorm.DB, account uuid.UUID, key string, fingerprint []byte, lease, ttl time.Duration) (Claim, error) {
	token := uuid.New()
	for range 3 {
		var claimed bool
		var status string
		var fp []byte
		var c Claim
		var imp *uuid.UUID
		row := db.WithContext(ctx).Raw(claimSQL, [16]byte(account), key, fingerprint, [16]byte(token),
			float64(lease.Milliseconds()), float64(ttl.Milliseconds()), models.Now()).Row()
		err := row.Scan(&claimed, &status, &fp, &c.Stored.Status, &c.Stored.Body, &imp)
		switch {
		case err == nil:
		case isNoRows(err):
			continue // the row committed after this statement's snapshot: look again
		default:
			return Claim{}, fmt.Errorf("claim idempotency key: %w", err)
		}
		switch {
		case claimed:
			c.State, c.Token = KeyClaimed, token
		case string(fp) != string(fingerprint):
			c.State = KeyReused
		case status == "running":
			c.State = KeyInUse
		default:
			c.State = KeyReplay
			if imp != nil {
				c.Import = *imp
			}
		}
		return c, nil
	}
	return Claim{State: KeyInUse}, nil
}

// ReleaseKey gives the key back when its request stored no answer (it failed, or was a dry run):
// a later request with the key runs afresh.
func ReleaseKey(ctx context.Context, db *gorm.DB, account uuid.UUID, key string, token uuid.UUID) error {
	err := db.WithContext(ctx).Exec(`DELETE FROM idempotency_keys
WHERE account_id = $1 AND key = $2 AND token = $3 AND status = 'running'`, [16]byte(account), key, [16]byte(token)).Error
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
