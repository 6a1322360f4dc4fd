package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/models/dbtest"
)

// jsonLines decodes one JSON object per line.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		lines = append(lines, m)
	}
	return lines
}

// accounts list and keys list print one object per line and never a secret.
func TestAccountsAndKeysList(t *testing.T) {
	t.Parallel()
	url := dbtest.NewDatabase(t)
	var secrets []string
	var accountIDs []string
	for _, name := range []string{"first", "second"} {
		out, err := cli(t, url, "accounts", "create", "--name", name)
		require.NoError(t, err)
		var acc map[string]string
		require.NoError(t, json.Unmarshal([]byte(out), &acc))
		accountIDs = append(accountIDs, acc["account_id"])
		secrets = append(secrets, acc["api_key"])
	}
	out, err := cli(t, url, "keys", "create", "--account", accountIDs[0], "--scopes", "data:read")
	require.NoError(t, err)
	var key map[string]string
	require.NoError(t, json.Unmarshal([]byte(out), &key))
	secrets = append(secrets, key["api_key"])
	_, err = cli(t, url, "keys", "revoke", key["key_id"])
	require.NoError(t, err)

	out, err = cli(t, url, "accounts", "list")
	require.NoError(t, err)
	accounts := jsonLines(t, out)
	require.Len(t, accounts, 2)
	for i, a := range accounts {
		require.Equal(t, accountIDs[i], a["account_id"])
		require.Equal(t, []string{"first", "second"}[i], a["name"])
		require.Contains(t, a, "created_at")
		require.Len(t, a, 3)
	}

	out, err = cli(t, url, "keys", "list", "--account", accountIDs[0])
	require.NoError(t, err)
	for _, s := range secrets {
		require.NotContains(t, out, s)
	}
	keys := jsonLines(t, out)
	require.Len(t, keys, 2)
	for _, k := range keys {
		require.ElementsMatch(t, []string{"key_id", "account_id", "scopes", "created_at", "revoked_at"}, keysOf(k))
		require.Equal(t, accountIDs[0], k["account_id"])
	}
	require.Equal(t, []any{"data:read", "data:write"}, keys[0]["scopes"])
	require.Nil(t, keys[0]["revoked_at"])
	require.Equal(t, key["key_id"], keys[1]["key_id"])
	require.Equal(t, []any{"data:read"}, keys[1]["scopes"])
	require.NotNil(t, keys[1]["revoked_at"])

	_, err = cli(t, url, "keys", "list", "--account", "7e0d9a40-8b7b-4b7e-9c55-0d4f8e8b0a11")
	require.ErrorContains(t, err, "Account 7e0d9a40-8b7b-4b7e-9c55-0d4f8e8b0a11 does not exist.")
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
