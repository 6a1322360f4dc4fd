package ingest

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"

	"invoice-ingest/validation"
)

var customerKind = &kind[validation.Customer]{
	noun:       "customer",
	table:      "customers",
	archived:   "false",
	parse:      validation.ParseCustomer,
	parseValid: validation.ParseCustomerValidJSON,
	ident:      func(c *validation.Customer) (string, string) { return c.ID, c.DataSource },
	hash: func(h *hasher, c *validation.Customer) digest {
		return h.start().str(c.Name).str(c.Email).str(c.Company).str(c.Country).sum()
	},
	write: writeCustomers,
}

// writeCustomers upserts customers of one source in one statement; rows whose stored hash equals
// theirs are left alone and not returned.
func writeCustomers(ctx context.Context, tx *sql.Tx, account, source uuid.UUID, now time.Time, rows []*row[validation.Customer]) (map[string]bool, error) {
	n := len(rows)
	ids, names, emails, companies, countries := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	hashes, rawHashes := make([][]byte, n), make([][]byte, n)
	for i, r := range rows {
		c := r.val
		ids[i], names[i], emails[i], companies[i], countries[i], hashes[i] = c.ID, c.Name, c.Email, c.Company, c.Country, r.hash[:]
		rawHashes[i] = r.rawHash[:]
	}
	rs, err := tx.QueryContext(ctx, `
INSERT INTO customers AS t (account_id, source_id, id, name, email, company, country, content_hash, raw_hash, created_at, updated_at)
SELECT $1, $2, r.id, r.name, r.email, r.company, r.country, r.content_hash, r.raw_hash, $9, $9
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $10::bytea[])
    AS r(id, name, email, company, country, content_hash, raw_hash)
ON CONFLICT (account_id, source_id, id) DO UPDATE SET
    name = excluded.name, email = excluded.email, company = excluded.company, country = excluded.country,
    content_hash = excluded.content_hash, raw_hash = excluded.raw_hash, updated_at = excluded.updated_at
WHERE t.content_hash <> excluded.content_hash
RETURNING t.id, t.xmax = 0`,
		prepared, [16]byte(account), [16]byte(source), ids, names, emails, companies, countries, hashes, now, rawHashes)
	if err != nil {
		return nil, err
	}
	return writtenIDs(rs, n)
}
