package api_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := e.account("auth")
	ctx := context.Background()
	acc, err := e.db.FindKey(ctx, key)
	require.NoError(t, err)
	_, readOnly, err := e.db.CreateKey(ctx, acc.AccountID, []string{models.ScopeRead})
	require.NoError(t, err)
	revokedKey, revoked, err := e.db.CreateKey(ctx, acc.AccountID, nil)
	require.NoError(t, err)
	require.NoError(t, e.db.RevokeKey(ctx, revokedKey.ID))

	for _, tc := range []struct {
		name   string
		header []string
		hint   string
	}{
		{"missing header", nil, `Authentication required. Send the API key as "Authorization: Bearer ik_...".`},
		{"basic auth with the key as user", []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))}, "not Basic auth"},
		{"bearer without token", []string{"Authorization", "Bearer"}, "Authentication required."},
		{"token without the ik_ prefix", []string{"Authorization", "Bearer nope"}, `API keys start with "ik_"`},
		{"truncated key", []string{"Authorization", "Bearer " + key[:10]}, "not a complete API key"},
		{"X-API-Key header", []string{"X-API-Key", key}, "not in X-API-Key"},
		{"other scheme", []string{"Authorization", "Token " + key}, "Unsupported authorization scheme"},
		{"unknown key", []string{"Authorization", "Bearer ik_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "unknown or revoked"},
		{"revoked key", []string{"Authorization", "Bearer " + revoked}, "unknown or revoked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := e.do("GET", "/data/data_sources", "", nil, tc.header...)
			requireProblem(t, r, http.StatusUnauthorized, "unauthenticated")
			require.Equal(t, `Bearer realm="invoice-ingest"`, r.Header.Get("WWW-Authenticate"))
			detail := r.JSON(t)["detail"].(string)
			require.Contains(t, detail, tc.hint)
			require.Contains(t, detail, `"Authorization: Bearer ik_..."`, "every 401 says how to authenticate")
		})
	}

	t.Run("read-only key can read", func(t *testing.T) {
		t.Parallel()
		r := e.do("GET", "/data/data_sources", readOnly, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	})
	t.Run("read-only key cannot write", func(t *testing.T) {
		t.Parallel()
		r := e.do("POST", "/data/data_sources", readOnly, map[string]string{"name": "x"})
		requireProblem(t, r, http.StatusForbidden, "forbidden")
	})
	t.Run("revoking twice is fine", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, e.db.RevokeKey(ctx, revokedKey.ID))
	})
}

func TestKeysAreStoredHashed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := e.account("hashed")
	var n int64
	require.NoError(t, e.db.Gorm.Raw(`SELECT count(*) FROM api_keys WHERE key_hash = convert_to(?, 'UTF8')`, key).Scan(&n).Error)
	require.Zero(t, n, "the secret itself is never stored")
	require.NoError(t, e.db.Gorm.Raw(`SELECT count(*) FROM api_keys WHERE key_hash = sha256(convert_to(?, 'UTF8'))`, key).Scan(&n).Error)
	require.EqualValues(t, 1, n)
	require.Regexp(t, `^ik_[A-Za-z0-9_-]{43}$`, key)
}

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	require.Equal(t, http.StatusOK, e.do("GET", "/healthz", "", nil).Status)
	require.Equal(t, http.StatusOK, e.do("GET", "/readyz", "", nil).Status)
	r := e.do("GET", "/nope", "", nil)
	requireProblem(t, r, http.StatusNotFound, "not_found")
	require.NotEmpty(t, r.Header.Get("X-Request-Id"))
}
