package models_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// With a debug logger every statement is logged with its text and timing, never its parameters.
func TestStatementsAreLoggedAtDebugWithoutParameters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.NewDatabase(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db, err := models.Open(ctx, url, models.WithLogger(log))
	require.NoError(t, err)
	defer db.Close()
	_, _, err = db.CreateAccount(ctx, "secret-account-name")
	require.NoError(t, err)
	require.Contains(t, buf.String(), `"msg":"statement"`)
	require.Contains(t, buf.String(), `INSERT INTO \"accounts\"`)
	require.Contains(t, buf.String(), `"duration":`)
	require.NotContains(t, buf.String(), "secret-account-name")

	buf.Reset()
	quiet, err := models.Open(ctx, url, models.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	require.NoError(t, err)
	defer quiet.Close()
	_, _, err = quiet.CreateAccount(ctx, "another")
	require.NoError(t, err)
	require.Empty(t, buf.String(), "nothing below debug")
}
