package ingest

import (
	"bytes"
	"context"
	"slices"

	"github.com/google/uuid"

	"invoice-ingest/models"
)

// sampleSize is how many rows of a large group are probed first to guess its shape.
const sampleSize = 16

// compareGroup decides each row's status against the stored row of its key and collects the rows
// to write in g.changed. Rows that turn out to have errors are dropped from g.rows.
func compareGroup[R any](ctx context.Context, s *Service, k *kind[R], account uuid.UUID, g *sourceGroup[R], dryRun bool) error {
	var h hasher
	for _, r := range g.rows {
		r.rawHash = rawDigest(r.raw)
	}
	found, err := probeGroup(ctx, s, k, account, g, dryRun, &h)
	if err != nil {
		return err
	}
	g.changed = make([]*row[R], 0, len(g.rows))
	for i, r := range g.rows {
		st := found[i]
		if st.State == models.SameText {
			r.status = Unchanged
			continue
		}
		// A valid key says nothing of the rest: the row may still have errors.
		r.parse(k, true) // RowKey or the decoder checked the JSON already
		if len(r.errs) > 0 {
			continue
		}
		r.contentHash(k, &h)
		switch {
		case st.State == models.Absent:
			r.status = Inserted
		case st.State == models.Live && bytes.Equal(st.Hash, r.hash[:]):
			r.status = Unchanged
			continue
		default:
			r.status = Updated
		}
		g.changed = append(g.changed, r)
	}
	g.rows = slices.DeleteFunc(g.rows, func(r *row[R]) bool { return len(r.errs) > 0 })
	return nil
}

// probeGroup returns what is stored under each row's key, by position.
//
// A large group is sampled first: when none of sampleSize rows spread over it is unchanged, the
// group is taken for new or changed data (an import, a sync after edits), and the probe of every
// row is skipped, a large share of what PostgreSQL spends on such a batch. Every row then goes to
// the write, whose RETURNING still tells each row's status exactly (a row whose content turns out
// the same is neither returned nor rewritten, only locked for the statement); the statuses set
// from the guess (see guessed) are then provisional. A dry run, which writes nothing, always probes
// every row.
//
// Sampling costs a re-sent batch a round trip, so after a large batch of a source that was not
// all new or changed, the next one of that source probes every row at once (s.resending).
func probeGroup[R any](ctx context.Context, s *Service, k *kind[R], account uuid.UUID, g *sourceGroup[R], dryRun bool, h *hasher) ([]models.Stored, error) {
	key := sourceKey{account, g.source}
	large := len(g.rows) >= 4*sampleSize
	probe := g.rows
	resending, _ := s.resending.get(key)
	if large && !dryRun && !resending {
		probe = make([]*row[R], sampleSize)
		for i := range probe {
			probe[i] = g.rows[i*len(g.rows)/sampleSize]
		}
	}
	found, err := probeStored(ctx, s, k, account, g.source, probe)
	if err != nil {
		return nil, err
	}
	switch {
	case len(probe) < len(g.rows) && allDiffer(k, h, probe, found):
		return guessed(found, len(g.rows)), nil
	case len(probe) < len(g.rows):
		s.resending.put(key, true)
		return probeStored(ctx, s, k, account, g.source, g.rows)
	case large && !dryRun:
		s.resending.put(key, !allDiffer(k, h, probe, found))
	}
	return found, nil
}

// guessed is what a group whose sample all differs is taken to hold, unknown until the write
// says: all absent (a new import: its rows are inserted without locking anything first) when no
// sampled row was stored, else all stored (an update: its rows are locked and upserted), with no
// content hash, so that every row goes to the write.
func guessed(sample []models.Stored, n int) []models.Stored {
	out := make([]models.Stored, n)
	if slices.ContainsFunc(sample, func(st models.Stored) bool { return st.State != models.Absent }) {
		for i := range out {
			out[i].State = models.Live
		}
	}
	return out
}

// allDiffer tells whether every sampled row differs from its stored row (or has none). Sampled
// rows whose text differs are parsed and hashed to compare their content; they would be anyway.
func allDiffer[R any](k *kind[R], h *hasher, sample []*row[R], found []models.Stored) bool {
	for i, r := range sample {
		switch found[i].State {
		case models.SameText:
			return false
		case models.Live:
			r.parse(k, true)
			if len(r.errs) == 0 {
				r.contentHash(k, h)
				if bytes.Equal(found[i].Hash, r.hash[:]) {
					return false
				}
			}
		}
	}
	return true
}

// probeStored looks up the stored row of every row (of one source, with raw hashes set) in one
// query, outside any transaction (see models.ProbeStored).
func probeStored[R any](ctx context.Context, s *Service, k *kind[R], account, source uuid.UUID, rows []*row[R]) ([]models.Stored, error) {
	ids, hashes := make([]string, len(rows)), make([][]byte, len(rows))
	for i, r := range rows {
		ids[i], hashes[i] = r.id, r.rawHash[:]
	}
	return models.ProbeStored(ctx, s.DB.Gorm, k.entity, account, source, ids, hashes)
}
