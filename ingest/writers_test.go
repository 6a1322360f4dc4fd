package ingest

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// An account has at most n write slots at once; other accounts have their own; a batch waiting
// for a slot gives up when its context ends; an account without holders or waiters is forgotten.
func TestWriterSlotsPerAccount(t *testing.T) {
	var w writers
	a, b := uuid.New(), uuid.New()
	ctx := context.Background()
	r1, err := w.acquire(ctx, a, 2)
	require.NoError(t, err)
	r2, err := w.acquire(ctx, a, 2)
	require.NoError(t, err)

	ended, cancel := context.WithCancel(ctx)
	cancel()
	_, err = w.acquire(ended, a, 2)
	require.ErrorIs(t, err, context.Canceled, "a's two slots are taken")
	rb, err := w.acquire(ctx, b, 2)
	require.NoError(t, err, "b has slots of its own")
	rb()

	r1()
	r3, err := w.acquire(ctx, a, 2)
	require.NoError(t, err, "a slot given back is taken again")
	r2()
	r3()
	w.mu.Lock()
	defer w.mu.Unlock()
	require.Empty(t, w.by)
}
