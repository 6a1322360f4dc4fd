package models_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// TestArrayLiteralsArriveAsWritten sends the literals as the probe and the enqueue do, as a
// parameter of the statement's array type, and reads each element back from PostgreSQL.
func TestArrayLiteralsArriveAsWritten(t *testing.T) {
	t.Parallel()
	db := dbtest.DB(t)
	texts := []string{"inv_1", `q"uote`, `back\slash`, `\"`, "{a,b}", "NULL", " spaced ", "", "Zoë", "\u202e"}
	blobs := [][]byte{{0x00, 0xff, 0x10}, {}, []byte(`\x"`), make([]byte, 16)}

	var n int
	require.NoError(t, db.Gorm.Raw(`SELECT cardinality($1::text[])`, models.TextArray(texts)).Scan(&n).Error)
	require.Equal(t, len(texts), n)
	for i, want := range texts {
		var got string
		require.NoError(t, db.Gorm.Raw(`SELECT ($1::text[])[$2]`, models.TextArray(texts), i+1).Scan(&got).Error)
		require.Equal(t, want, got, "element %d", i)
	}
	require.NoError(t, db.Gorm.Raw(`SELECT cardinality($1::bytea[])`, models.ByteaArray(blobs)).Scan(&n).Error)
	require.Equal(t, len(blobs), n)
	for i, want := range blobs {
		var got []byte
		require.NoError(t, db.SQL.QueryRowContext(t.Context(), `SELECT ($1::bytea[])[$2]`, models.ByteaArray(blobs), i+1).Scan(&got))
		require.Equal(t, string(want), string(got), "element %d", i)
	}
	require.NoError(t, db.Gorm.Raw(`SELECT cardinality($1::text[])`, models.TextArray(nil)).Scan(&n).Error)
	require.Zero(t, n)
}
