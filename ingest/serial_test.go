package ingest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/ingest"
	"invoice-ingest/models/dbtest"
)

// Overlapping batches end in a state some serial order of them gives (SPEC section 6). Batch A
// re-sends x unchanged and changes y; batch B changes both and commits after A's reads decided
// that x is unchanged, before A writes y. A must not answer x unchanged and leave it as B wrote
// it while y ends as A wrote it: no serial order gives x=B, y=A.
func TestOverlappingBatchesAreSerial(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.DB(t)
	acc, src := accountWithSource(t, db, "serial")
	row := func(id, name string) string {
		return `{"id": "` + id + `", "data_source": "s", "name": "` + name + `"}`
	}
	a, b := &ingest.Service{DB: db}, &ingest.Service{DB: db}
	_, err := a.Customers(ctx, acc.ID, raws(row("x", "0"), row("y", "0")), ingest.Options{})
	require.NoError(t, err)

	ranB := false
	a.SetAfterReads(func() {
		if ranB {
			return
		}
		ranB = true
		res, err := b.Customers(ctx, acc.ID, raws(row("x", "B"), row("y", "B")), ingest.Options{})
		require.NoError(t, err)
		require.Equal(t, []ingest.Status{ingest.Updated, ingest.Updated}, statuses(res))
	})
	res, err := a.Customers(ctx, acc.ID, raws(row("x", "0"), row("y", "A")), ingest.Options{})
	require.NoError(t, err)
	require.True(t, ranB)

	name := func(id string) string {
		c, err := db.GetCustomer(ctx, acc.ID, src.ID, id)
		require.NoError(t, err)
		return c.Name
	}
	final := [2]string{name("x"), name("y")}
	switch final {
	case [2]string{"0", "A"}: // B, then A: A rewrote x
		require.Equal(t, []ingest.Status{ingest.Updated, ingest.Updated}, statuses(res))
	case [2]string{"B", "B"}: // A, then B
		require.Equal(t, []ingest.Status{ingest.Unchanged, ingest.Updated}, statuses(res))
	default:
		t.Fatalf("x=%s, y=%s matches no serial order of the two batches", final[0], final[1])
	}
}
