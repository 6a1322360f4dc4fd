package ingest

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"

	"invoice-ingest/validation"
)

var planKind = &kind[validation.Plan]{
	noun:       "plan",
	table:      "plans",
	archived:   "false",
	parse:      validation.ParsePlan,
	parseValid: validation.ParsePlanValidJSON,
	ident:      func(p *validation.Plan) (string, string) { return p.ID, p.DataSource },
	hash: func(h *hasher, p *validation.Plan) digest {
		return h.start().str(p.Name).str(p.IntervalUnit).int(int64(p.IntervalCount)).sum()
	},
	write: writePlans,
}

// writePlans upserts plans of one source in one statement.
func writePlans(ctx context.Context, tx *sql.Tx, account, source uuid.UUID, now time.Time, rows []*row[validation.Plan]) (map[string]bool, error) {
	n := len(rows)
	ids, names, units := make([]string, n), make([]string, n), make([]string, n)
	counts := make([]int32, n)
	hashes, rawHashes := make([][]byte, n), make([][]byte, n)
	for i, r := range rows {
		p := r.val
		ids[i], names[i], units[i], counts[i], hashes[i] = p.ID, p.Name, p.IntervalUnit, p.IntervalCount, r.hash[:]
		rawHashes[i] = r.rawHash[:]
	}
	rs, err := tx.QueryContext(ctx, `
INSERT INTO plans AS t (account_id, source_id, id, name, interval_unit, interval_count, content_hash, raw_hash, created_at, updated_at)
SELECT $1, $2, r.id, r.name, r.interval_unit, r.interval_count, r.content_hash, r.raw_hash, $8, $8
FROM unnest($3::text[], $4::text[], $5::text[], $6::integer[], $7::bytea[], $9::bytea[])
    AS r(id, name, interval_unit, interval_count, content_hash, raw_hash)
ON CONFLICT (account_id, source_id, id) DO UPDATE SET
    name = excluded.name, interval_unit = excluded.interval_unit, interval_count = excluded.interval_count,
    content_hash = excluded.content_hash, raw_hash = excluded.raw_hash, updated_at = excluded.updated_at
WHERE t.content_hash <> excluded.content_hash
RETURNING t.id, t.xmax = 0`,
		prepared, [16]byte(account), [16]byte(source), ids, names, units, counts, hashes, now, rawHashes)
	if err != nil {
		return nil, err
	}
	return writtenIDs(rs, n)
}
