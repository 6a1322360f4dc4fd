package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Scopes an API key may hold.
const (
	ScopeRead  = "data:read"
	ScopeWrite = "data:write"
)

// keyPrefix marks our keys so leaked ones are recognisable by secret scanners.
const keyPrefix = "ik_"

// Account is a tenant: everything else belongs to exactly one.
type Account struct {
	ID        uuid.UUID `gorm:"type:uuid;primaryKey"`
	Name      string
	CreatedAt time.Time
}

// APIKey is a stored key: only the SHA-256 of the secret is kept.
type APIKey struct {
	AccountID uuid.UUID `gorm:"type:uuid;primaryKey"`
	ID        uuid.UUID `gorm:"type:uuid;primaryKey"`
	KeyHash   []byte    `gorm:"column:key_hash"`
	Scopes    string    // space-separated, as OAuth 2 scopes are
	CreatedAt time.Time
	RevokedAt *time.Time
}

// HasScope reports whether the key grants scope.
func (k APIKey) HasScope(scope string) bool { return slices.Contains(strings.Fields(k.Scopes), scope) }

// CreateAccount creates an account and its first key with both scopes, returning the key's secret,
// which is never stored and cannot be shown again.
func (db *DB) CreateAccount(ctx context.Context, name string) (Account, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Account{}, "", Errorf(EINVALID, "Account name must not be empty.")
	}
	acc := Account{ID: uuid.New(), Name: name, CreatedAt: Now()}
	var secret string
	err := Transaction(ctx, db.Gorm, func(tx *gorm.DB) error {
		if err := tx.Create(&acc).Error; err != nil {
			return fmt.Errorf("insert account: %w", err)
		}
		var err error
		_, secret, err = createKey(tx, acc.ID, []string{ScopeRead, ScopeWrite})
		return err
	})
	if err != nil {
		return Account{}, "", err
	}
	return acc, secret, nil
}

// CreateKey creates another key for an existing account.
func (db *DB) CreateKey(ctx context.Context, accountID uuid.UUID, scopes []string) (APIKey, string, error) {
	for _, s := range scopes {
		if s != ScopeRead && s != ScopeWrite {
			return APIKey{}, "", Errorf(EINVALID, "Unknown scope %q: must be %s or %s.", s, ScopeRead, ScopeWrite)
		}
	}
	if len(scopes) == 0 {
		scopes = []string{ScopeRead, ScopeWrite}
	}
	var key APIKey
	var secret string
	err := Transaction(ctx, db.Gorm, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Account{}).Where("id = ?", accountID).Count(&n).Error; err != nil {
			return fmt.Errorf("look up account: %w", err)
		}
		if n == 0 {
			return Errorf(ENOTFOUND, "Account %s does not exist.", accountID)
		}
		var err error
		key, secret, err = createKey(tx, accountID, scopes)
		return err
	})
	return key, secret, err
}

func createKey(tx *gorm.DB, accountID uuid.UUID, scopes []string) (APIKey, string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return APIKey{}, "", fmt.Errorf("random key: %w", err)
	}
	secret := keyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	key := APIKey{
		AccountID: accountID,
		ID:        uuid.New(),
		KeyHash:   HashKey(secret),
		Scopes:    strings.Join(scopes, " "),
		CreatedAt: Now(),
	}
	if err := tx.Create(&key).Error; err != nil {
		return APIKey{}, "", fmt.Errorf("insert key: %w", err)
	}
	return key, secret, nil
}

// HashKey returns the stored form of a key's secret.
func HashKey(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// LooksLikeKey reports whether s has the shape of one of our keys, so malformed tokens are refused
// without a query.
func LooksLikeKey(s string) bool {
	return strings.HasPrefix(s, keyPrefix) && len(s) > len(keyPrefix)+20 && len(s) < 200
}

// RevokeKey revokes a key by id, as of now (this process's clock: Citus refuses now() beside a
// column in an UPDATE). Revoking twice is not an error and keeps the first instant.
func (db *DB) RevokeKey(ctx context.Context, keyID uuid.UUID) error {
	res := db.Gorm.WithContext(ctx).Model(&APIKey{}).Where("id = ?", keyID).
		Update("revoked_at", gorm.Expr("coalesce(revoked_at, ?::timestamptz)", Now()))
	if res.Error != nil {
		return fmt.Errorf("revoke key: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return Errorf(ENOTFOUND, "Key %s does not exist.", keyID)
	}
	return nil
}

// FindKey returns the live (not revoked) key whose secret is given, or an ENOTFOUND error.
func (db *DB) FindKey(ctx context.Context, secret string) (APIKey, error) {
	var key APIKey
	err := db.Gorm.WithContext(ctx).Where("key_hash = ? AND revoked_at IS NULL", HashKey(secret)).Take(&key).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return APIKey{}, Errorf(ENOTFOUND, "Unknown key.")
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("look up key: %w", err)
	}
	return key, nil
}

// CountAccounts returns how many accounts exist (the dev runner creates a demo one when none does).
func (db *DB) CountAccounts(ctx context.Context) (int64, error) {
	var n int64
	err := db.Gorm.WithContext(ctx).Model(&Account{}).Count(&n).Error
	return n, err
}

// ListAccounts returns every account, oldest first.
func (db *DB) ListAccounts(ctx context.Context) ([]Account, error) {
	var accs []Account
	if err := db.Gorm.WithContext(ctx).Order("created_at, id").Find(&accs).Error; err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return accs, nil
}

// ListKeys returns the keys of an account, revoked ones included, oldest first; an account that
// does not exist is an ENOTFOUND error. KeyHash is not read.
func (db *DB) ListKeys(ctx context.Context, accountID uuid.UUID) ([]APIKey, error) {
	var keys []APIKey
	err := Transaction(ctx, db.Gorm, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Account{}).Where("id = ?", accountID).Count(&n).Error; err != nil {
			return fmt.Errorf("look up account: %w", err)
		}
		if n == 0 {
			return Errorf(ENOTFOUND, "Account %s does not exist.", accountID)
		}
		if err := tx.Select("account_id", "id", "scopes", "created_at", "revoked_at").
			Where("account_id = ?", accountID).Order("created_at, id").Find(&keys).Error; err != nil {
			return fmt.Errorf("list keys: %w", err)
		}
		return nil
	})
	return keys, err
}
