package models

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// StoredState is what is stored under an incoming row's key.
type StoredState int16

// The states ProbeStored tells apart. The numbers are spelled in its SQL.
const (
	Absent   StoredState = iota // nothing
	SameText                    // a live row last written from byte-identical JSON text
	Live                        // a live row written from other text: compare content hashes
	Archived                    // an archived row: an upsert restores it, so it is written
)

// Stored is the stored row under one incoming row's key: its state, and its content hash when the
// state is Live.
type Stored struct {
	State StoredState
	Hash  []byte
}

// probeSQL is one primary-key probe per id, whatever the statistics say: LIMIT 1 keeps the planner
// from flattening the LATERAL subquery into a join, which on a young table (no statistics yet) it
// would run as a hash of every stored row of the source, making a first import quadratic. Rows
// byte-identical to their stored row (state 1) are not returned. It is planned at every run, with
// the table's size at that moment: a plan cached for the connection (a prepared statement) made
// while the table was empty and vacuumed runs a sequential scan for every id, and keeps doing so
// as the table grows until the next ANALYZE.
func probeSQL(e Entity) string {
	return `SELECT k.n, coalesce(t.state, 0::int2), CASE WHEN t.state = 2 THEN t.content_hash END
		FROM unnest($3::text[], $4::bytea[]) WITH ORDINALITY AS k(id, raw_hash, n)
		LEFT JOIN LATERAL (SELECT content_hash, CASE WHEN ` + e.archivedExpr() + ` THEN 3::int2
				WHEN raw_hash = k.raw_hash THEN 1::int2 ELSE 2::int2 END AS state
			FROM ` + string(e) + ` WHERE account_id = $1 AND source_id = $2 AND id = k.id LIMIT 1) t ON true
		WHERE t.state IS DISTINCT FROM 1`
}

var probeSQLs = map[Entity]string{Customers: probeSQL(Customers), Plans: probeSQL(Plans), Invoices: probeSQL(Invoices)}

// ProbeStored looks up, in one query, the stored row under each (id, digest of the row's JSON
// text) of one source, and returns them by position. The text comparison runs in PostgreSQL and
// only rows that are not byte-identical to their stored row come back, so a re-sent identical row
// costs one primary-key probe and nothing else; only rows whose text differs bring their content
// hash.
func ProbeStored(ctx context.Context, db *gorm.DB, e Entity, account, source uuid.UUID, ids []string, rawHashes [][]byte) ([]Stored, error) {
	out := make([]Stored, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	for i := range out {
		out[i].State = SameText // unless it comes back
	}
	rs, err := query(db.WithContext(ctx), probeSQLs[e], [16]byte(account), [16]byte(source), TextArray(ids), ByteaArray(rawHashes))
	if err != nil {
		return nil, fmt.Errorf("read stored %s: %w", e, err)
	}
	defer rs.Close()
	for rs.Next() {
		var n int
		var st Stored
		if err := rs.Scan(&n, &st.State, &st.Hash); err != nil {
			return nil, fmt.Errorf("read stored %s: %w", e, err)
		}
		out[n-1] = st
	}
	return out, rs.Err()
}

// ExistingIDs returns which of ids (distinct) exist among the entity's rows of one source, in one
// query.
func ExistingIDs(ctx context.Context, db *gorm.DB, e Entity, account, source uuid.UUID, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rs, err := query(db.WithContext(ctx), `SELECT k.id FROM unnest($3::text[]) AS k(id)
		WHERE EXISTS (SELECT FROM `+string(e)+` t WHERE t.account_id = $1 AND t.source_id = $2 AND t.id = k.id)`,
		account, source, ids)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", e, err)
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rs.Err()
}

// lockUnchangedSQL share-locks, in id order, the live rows whose stored text digest or content
// digest still equals the one given, and returns their positions. Planned at every run, like
// probeSQL: its join, too, would keep a plan made on an empty table.
func lockUnchangedSQL(e Entity) string {
	return `SELECT k.n FROM unnest($3::text[], $4::bytea[], $5::bytea[]) WITH ORDINALITY AS k(id, raw_hash, content_hash, n)
		JOIN ` + string(e) + ` t ON t.account_id = $1 AND t.source_id = $2 AND t.id = k.id
		WHERE NOT (` + e.archivedExpr() + `) AND (t.raw_hash = k.raw_hash OR t.content_hash = k.content_hash)
		ORDER BY k.id COLLATE "C"
		FOR SHARE OF t`
}

var lockUnchangedSQLs = map[Entity]string{
	Customers: lockUnchangedSQL(Customers), Plans: lockUnchangedSQL(Plans), Invoices: lockUnchangedSQL(Invoices)}

// LockUnchanged share-locks, in the caller's transaction, the stored rows of one source that a
// probe found unchanged (by text digest, or by content digest where contentHashes has one), and
// tells whether every one of them is still so. Rows must be sorted by id. Until the transaction
// ends no other writer can change them, so a batch that answers them unchanged and writes others
// is one serial step.
func LockUnchanged(ctx context.Context, tx *gorm.DB, e Entity, account, source uuid.UUID, ids []string, rawHashes, contentHashes [][]byte) (bool, error) {
	if len(ids) == 0 {
		return true, nil
	}
	rs, err := query(tx.WithContext(ctx), lockUnchangedSQLs[e], [16]byte(account), [16]byte(source), ids, rawHashes, contentHashes)
	if err != nil {
		return false, fmt.Errorf("lock unchanged %s: %w", e, err)
	}
	defer rs.Close()
	n := 0
	for rs.Next() {
		n++
	}
	if err := rs.Err(); err != nil {
		return false, fmt.Errorf("lock unchanged %s: %w", e, err)
	}
	return n == len(ids), nil
}
