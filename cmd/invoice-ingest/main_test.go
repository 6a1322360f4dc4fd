package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// cli runs the command with DATABASE_URL pointing at url and returns stdout.
func cli(t *testing.T, url string, args ...string) (string, error) {
	var out bytes.Buffer
	lookup := func(k string) (string, bool) {
		if k == "DATABASE_URL" {
			return url, true
		}
		return "", false
	}
	err := run(context.Background(), args, lookup, &out, io.Discard)
	return out.String(), err
}

func TestAccountsCreateThenRequest(t *testing.T) {
	t.Parallel()
	url := dbtest.NewEmptyDatabase(t) // migrate builds the schema; accounts create would refuse
	_, err := cli(t, url, "migrate")
	require.NoError(t, err)
	out, err := cli(t, url, "accounts", "create", "--name", "acme")
	require.NoError(t, err)
	var created struct {
		AccountID string `json:"account_id"`
		APIKey    string `json:"api_key"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &created), out)
	require.NotEmpty(t, created.AccountID)

	db, err := models.Open(context.Background(), url)
	require.NoError(t, err)
	defer db.Close()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	srv := httptest.NewServer((&api.Server{DB: db, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler())
	defer srv.Close()
	call := func(key string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/data/data_sources", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	require.Equal(t, http.StatusOK, call(created.APIKey))

	t.Run("keys create and revoke", func(t *testing.T) {
		out, err := cli(t, url, "keys", "create", "--account", created.AccountID, "--scopes", "data:read")
		require.NoError(t, err)
		var key struct {
			APIKey string `json:"api_key"`
			KeyID  string `json:"key_id"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &key), out)
		require.Equal(t, http.StatusOK, call(key.APIKey))
		_, err = cli(t, url, "keys", "revoke", key.KeyID)
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, call(key.APIKey))
	})

	t.Run("recalc status", func(t *testing.T) {
		out, err := cli(t, url, "recalc", "status")
		require.NoError(t, err)
		require.JSONEq(t, `{"pending_writes": 0, "queued": 0, "running": 0, "failing": []}`, out)
	})
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{}, {"bogus"}, {"serve", "--nope"}, {"accounts"}, {"accounts", "create"},
		{"keys", "create"}, {"keys", "create", "--account", "not-a-uuid"}, {"keys", "revoke"}, {"keys", "twist"},
		{"recalc"}, {"recalc", "status", "--limit", "0"},
		{"keys", "list"}, {"accounts", "list", "extra"}, {"worker", "--addr", "x:1"}, {"migrate", "now"},
		{"version", "--json"}, {"healthcheck", "--timeout", "0s"}, {"healthcheck", "--addr", "nohost"},
		{"help", "bogus"}, {"keys", "revoke", "not-a-uuid"},
	} {
		_, err := cli(t, "postgres://127.0.0.1:1/never", args...)
		var u usageError
		require.True(t, errors.As(err, &u), "%v: %v", args, err)
	}
}

func TestInvalidConfigNamesVariable(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"migrate"}, func(k string) (string, bool) {
		if k == "INGEST_MAX_ROWS" {
			return "lots", true
		}
		return "", false
	}, io.Discard, io.Discard)
	require.ErrorContains(t, err, "INGEST_MAX_ROWS")
}
