package models_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// ListAccounts returns accounts oldest first (other tests share the database, so only the
// order of this test's accounts is checked).
func TestListAccounts(t *testing.T) {
	t.Parallel()
	db, ctx := dbtest.DB(t), t.Context()
	a, _, err := db.CreateAccount(ctx, "list-a")
	require.NoError(t, err)
	b, _, err := db.CreateAccount(ctx, "list-b")
	require.NoError(t, err)
	accs, err := db.ListAccounts(ctx)
	require.NoError(t, err)
	var mine []models.Account
	for _, acc := range accs {
		if acc.ID == a.ID || acc.ID == b.ID {
			mine = append(mine, acc)
		}
	}
	require.Len(t, mine, 2)
	require.Equal(t, a.ID, mine[0].ID)
	require.Equal(t, "list-a", mine[0].Name)
	require.True(t, a.CreatedAt.Equal(mine[0].CreatedAt))
	require.Equal(t, b.ID, mine[1].ID)
}

// ListKeys returns an account's keys, revoked ones too, oldest first, without their hashes.
func TestListKeys(t *testing.T) {
	t.Parallel()
	db, ctx := dbtest.DB(t), t.Context()
	acc, _, err := db.CreateAccount(ctx, "keys")
	require.NoError(t, err)
	second, _, err := db.CreateKey(ctx, acc.ID, []string{models.ScopeRead})
	require.NoError(t, err)
	require.NoError(t, db.RevokeKey(ctx, second.ID))
	other, _, err := db.CreateAccount(ctx, "other")
	require.NoError(t, err)

	keys, err := db.ListKeys(ctx, acc.ID)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	require.Equal(t, "data:read data:write", keys[0].Scopes)
	require.Nil(t, keys[0].RevokedAt)
	require.Equal(t, second.ID, keys[1].ID)
	require.Equal(t, acc.ID, keys[1].AccountID)
	require.Equal(t, models.ScopeRead, keys[1].Scopes)
	require.NotNil(t, keys[1].RevokedAt)
	for _, k := range keys {
		require.Empty(t, k.KeyHash, "hashes are not read")
	}

	keys, err = db.ListKeys(ctx, other.ID)
	require.NoError(t, err)
	require.Len(t, keys, 1)

	_, err = db.ListKeys(ctx, uuid.New())
	require.Equal(t, models.ENOTFOUND, models.ErrorCode(err))
}
