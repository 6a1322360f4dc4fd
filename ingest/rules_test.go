package ingest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zeebo/xxh3"

	"invoice-ingest/models/dbtest"
	"invoice-ingest/validation"
)

// A row stored under an older release's rules is parsed again when re-sent byte for byte: a rule
// that tightened since answers with the row's errors instead of "unchanged".
func TestResendUnderNewRulesIsParsedAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.DB(t)
	acc, _, err := db.CreateAccount(ctx, "rules")
	require.NoError(t, err)
	src, _, err := db.CreateDataSource(ctx, acc.ID, "s")
	require.NoError(t, err)
	s := &Service{DB: db}
	// A row the current rules refuse (country must be ISO 3166-1 alpha-2), stored as an older
	// release that accepted it would have stored it.
	text := `{"id": "c", "data_source": "s", "country": "Atlantis"}`
	store := func(rules int) {
		digest := xxh3.Hash128Seed([]byte(text), hashVersion<<32|uint64(rules)).Bytes()
		require.NoError(t, db.Gorm.Exec(`INSERT INTO customers (account_id, source_id, id, name, email, company, country,
			content_hash, raw_hash, created_at, updated_at) VALUES (?, ?, 'c', '', '', '', 'Atlantis', '\x00', ?, now(), now())
			ON CONFLICT (account_id, source_id, id) DO UPDATE SET raw_hash = excluded.raw_hash`,
			acc.ID, src.ID, digest[:]).Error)
	}
	resend := func() Result {
		res, err := s.Customers(ctx, acc.ID, validation.Lines([]json.RawMessage{json.RawMessage(text)}), Options{})
		require.NoError(t, err)
		return res[0]
	}

	store(validation.RulesVersion)
	require.Equal(t, Unchanged, resend().Status, "the digest of this release's rules answers without parsing")
	store(validation.RulesVersion - 1)
	r := resend()
	require.Equal(t, Failed, r.Status)
	require.Equal(t, "country", r.Errors[0].Field)
}
