package ingest

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"invoice-ingest/models"
	"invoice-ingest/recalc"
	"invoice-ingest/validation"
)

// kind tells the pipeline what differs between customers, plans and invoices.
type kind[R any] struct {
	noun  string // "invoice", as messages name the entity
	table string
	// archived is the SQL expression telling whether a stored row is archived.
	archived string
	parse    func(json.RawMessage) (R, []validation.FieldError)
	// parseValid is parse for a row known to be valid JSON.
	parseValid func(json.RawMessage) (R, []validation.FieldError)
	// ident returns the row's id and data source reference as the client gave them.
	ident func(*R) (id, source string)
	hash  func(*hasher, *R) digest
	// check adds the errors of references other than the data source (customers, plans) to rows
	// of one source; nil for kinds without such references. Foreign keys hold the same rule, so
	// a write runs it only after a foreign key refused the batch (see run).
	check func(ctx context.Context, db queryer, account, source uuid.UUID, rows []*row[R]) error
	// write upserts rows of one source, sorted by id, and returns, by id, whether each row was
	// inserted (true) or updated (false); a row left out was found identical and not written.
	write func(ctx context.Context, tx *sql.Tx, account, source uuid.UUID, now time.Time, rows []*row[R]) (map[string]bool, error)
	// customer returns the customer whose metrics a written row changes; nil for kinds that
	// change no metrics.
	customer func(*R) string
}

// row is one request row on its way through the pipeline.
type row[R any] struct {
	index     int
	raw       json.RawMessage
	parsed    bool // val is set and the parse's errors are in errs; a row is parsed once
	val       *R   // set once parsed; a row answered unchanged by its text never is
	id        string
	sourceRef string
	source    uuid.UUID
	errs      []validation.FieldError // what validation found, then what the database found
	rawHash   digest                  // of raw, see rawDigest
	hash      digest                  // of the content, once hashed
	hashed    bool
	status    Status
}

// contentHash sets the digest of the parsed row's content, once.
func (r *row[R]) contentHash(k *kind[R], h *hasher) {
	if !r.hashed {
		r.hash, r.hashed = k.hash(h, r.val), true
	}
}

// parse parses the row in full, once.
func (r *row[R]) parse(k *kind[R], validJSON bool) {
	if r.parsed {
		return
	}
	parse := k.parse
	if validJSON {
		parse = k.parseValid
	}
	v, errs := parse(r.raw)
	r.val = &v
	if len(errs) > 0 { // the fields' errors come first, whenever the row is parsed
		r.errs = append(errs, r.errs...)
	}
	r.id, r.sourceRef = k.ident(r.val)
	r.parsed = true
}

// sourceGroup is the valid rows of one data source, sorted by id.
type sourceGroup[R any] struct {
	source  uuid.UUID
	rows    []*row[R]
	changed []*row[R] // the rows to write, set by compareGroup
}

// prepared, passed as a statement's first argument, makes pgx run it as a prepared statement
// cached per connection, instead of the pool's default of planning every execution with its
// real parameters (models.Open). PostgreSQL then soon settles on a generic plan and skips
// planning: a fifth of a millisecond per statement, a tenth of what a re-sent batch costs it.
// Only statements whose plan cannot depend on the arrays' lengths use it: one primary-key probe
// per element (compareStored), or INSERT ... SELECT FROM unnest (the writes).
const prepared = pgx.QueryExecModeCacheStatement

// queryer runs a query on the pool or in a transaction: *sql.DB and *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// run is the whole pipeline for one batch: reads, then one write transaction if anything changed.
func run[R any](ctx context.Context, s *Service, k *kind[R], account uuid.UUID, raws validation.Rows, opt Options) ([]Result, error) {
	// Only a row's key is read up front: a row byte-identical to the one stored under its key is
	// unchanged, and is never parsed (see compareStored). The others are parsed once the stored
	// rows are known, and a row whose key does not read cleanly is parsed now, for its errors.
	rows := make([]row[R], raws.Len())
	validJSON := raws.ValidJSON()
	for i := range rows {
		r := &rows[i]
		r.index, r.raw = i, raws.At(i)
		if id, source, ok := validation.RowKey(r.raw, validJSON); ok {
			r.id, r.sourceRef = id, source
			continue
		}
		r.parse(k, validJSON)
	}
	now := s.now()
	// Statuses are decided by reads outside any transaction, then only the rows that differ are
	// written, in one transaction. Nothing is lost by reading first: under READ COMMITTED every
	// statement sees its own snapshot anyway, and the upsert's RETURNING decides each written row's
	// final status under its row lock. A batch of unchanged rows thus costs two reads, no
	// transaction and no lock.
	if err := resolveSources(ctx, s, account, rows); err != nil {
		return nil, err
	}
	markDuplicates(k.noun, rows)
	for i := range rows { // a row in error reports all its errors
		if r := &rows[i]; len(r.errs) > 0 {
			r.parse(k, true) // RowKey checked the JSON
		}
	}
	groups := groupBySource(rows)
	changed := false
	for _, g := range groups {
		if err := compareGroup(ctx, s, k, account, g, opt.DryRun); err != nil {
			return nil, err
		}
		changed = changed || len(g.changed) > 0
	}
	// References (an invoice's customer and plan) are enforced by foreign keys on a write, so they
	// are not looked up first: nearly every batch is valid, and the lookups cost as much as a
	// quarter of an insert. When a foreign key refuses the batch (its transaction rolled back,
	// nothing was written), they are looked up to name the bad rows, and the rest is written. A
	// dry run writes nothing, so it always looks them up.
	if opt.DryRun {
		if err := checkReferences(ctx, s.DB.SQL, k, account, groups); err != nil {
			return nil, err
		}
		return results(rows), nil
	}
	if !changed {
		return results(rows), nil
	}
	err := writeGroups(ctx, s, k, account, now, groups)
	if k.check != nil && isForeignKeyViolation(err) {
		if err := checkReferences(ctx, s.DB.SQL, k, account, groups); err != nil {
			return nil, err
		}
		err = writeGroups(ctx, s, k, account, now, groups)
	}
	if err != nil {
		return nil, err
	}
	return results(rows), nil
}

// sampleSize is how many rows of a large group are probed first to guess its shape.
const sampleSize = 16

// compareGroup decides each row's status against the stored row of its key and collects the rows
// to write in g.changed. Rows that turn out to have errors are dropped from g.rows.
//
// A large group is sampled first: when none of sampleSize rows spread over it is unchanged, the
// group is taken for new or changed data (an import, a sync after edits), and the probe of every
// row is skipped, a tenth of what PostgreSQL spends on such a batch. Every row then goes to the
// upsert, whose RETURNING still tells each row's status exactly (a row whose content turns out
// the same is neither returned nor rewritten, only locked for the statement); the statuses set
// here are then provisional. A dry run, which writes nothing, always probes every row.
//
// Sampling costs a re-sent batch a round trip, so after a large batch of a source that was not
// all new or changed, the next one of that source probes every row at once (s.resending).
func compareGroup[R any](ctx context.Context, s *Service, k *kind[R], account uuid.UUID, g *sourceGroup[R], dryRun bool) error {
	var h hasher
	for _, r := range g.rows {
		r.rawHash = rawDigest(r.raw)
	}
	large := len(g.rows) >= 4*sampleSize
	probe := g.rows
	resending, _ := s.resending.get(sourceKey{account, g.source})
	if large && !dryRun && !resending {
		probe = make([]*row[R], sampleSize)
		for i := range probe {
			probe[i] = g.rows[i*len(g.rows)/sampleSize]
		}
	}
	found, err := compareStored(ctx, s.DB.SQL, k, account, g.source, probe)
	if err != nil {
		return err
	}
	switch {
	case len(probe) < len(g.rows) && allDiffer(k, &h, probe, found):
		found = make([]stored, len(g.rows)) // unknown: absent until the upsert says otherwise
	case len(probe) < len(g.rows):
		s.resending.put(sourceKey{account, g.source}, true)
		if found, err = compareStored(ctx, s.DB.SQL, k, account, g.source, g.rows); err != nil {
			return err
		}
	case large && !dryRun:
		s.resending.put(sourceKey{account, g.source}, !allDiffer(k, &h, probe, found))
	}
	g.changed = make([]*row[R], 0, len(g.rows))
	for i, r := range g.rows {
		st := found[i]
		if st.state == sameText {
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
		case st.state == absent:
			r.status = Inserted
		case st.state == live && bytes.Equal(st.hash, r.hash[:]):
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

// allDiffer tells whether every sampled row differs from its stored row (or has none). Sampled
// rows whose text differs are parsed and hashed to compare their content; they would be anyway.
func allDiffer[R any](k *kind[R], h *hasher, sample []*row[R], found []stored) bool {
	for i, r := range sample {
		switch found[i].state {
		case sameText:
			return false
		case live:
			r.parse(k, true)
			if len(r.errs) == 0 {
				r.contentHash(k, h)
				if bytes.Equal(found[i].hash, r.hash[:]) {
					return false
				}
			}
		}
	}
	return true
}

// checkReferences looks up the references of every group's changed rows, turns the rows whose
// references are missing into error rows and drops them from the groups.
func checkReferences[R any](ctx context.Context, db queryer, k *kind[R], account uuid.UUID, groups []*sourceGroup[R]) error {
	if k.check == nil {
		return nil
	}
	for _, g := range groups {
		if len(g.changed) == 0 {
			continue
		}
		if err := k.check(ctx, db, account, g.source, g.changed); err != nil {
			return err
		}
		bad := func(r *row[R]) bool { return len(r.errs) > 0 }
		g.changed = slices.DeleteFunc(g.changed, bad)
		g.rows = slices.DeleteFunc(g.rows, bad)
	}
	return nil
}

// writeGroups writes every group's changed rows, one statement per chunk, and queues their
// customers' recalculation, in one transaction (retried as a whole after a deadlock).
//
// The statuses compareGroup set were read without locks; the upsert's RETURNING decides under
// lock, so a concurrent writer can only turn a row into "unchanged" (it wrote the same content
// first) or an expected insert into an update.
func writeGroups[R any](ctx context.Context, s *Service, k *kind[R], account uuid.UUID, now time.Time, groups []*sourceGroup[R]) error {
	return s.inTx(ctx, func(_ *gorm.DB, tx *sql.Tx) error {
		var queue []recalc.CustomerKey
		for _, g := range groups {
			for chunk := range slices.Chunk(g.changed, s.chunkSize()) {
				written, err := k.write(ctx, tx, account, g.source, now, chunk)
				if err != nil {
					return fmt.Errorf("upsert %ss: %w", k.noun, err)
				}
				for _, r := range chunk {
					inserted, ok := written[r.id]
					switch {
					case !ok:
						r.status = Unchanged
					case inserted:
						r.status = Inserted
					default:
						r.status = Updated
					}
					if ok && k.customer != nil {
						queue = append(queue, recalc.CustomerKey{AccountID: account, SourceID: g.source, CustomerID: k.customer(r.val)})
					}
				}
			}
		}
		return recalc.Enqueue(ctx, tx, queue)
	})
}

// storedState is what is stored under a row's key.
type storedState int16

const (
	absent   storedState = iota // nothing
	sameText                    // a live row last written from byte-identical JSON text
	live                        // a live row written from other text: compare content hashes
	archived                    // an archived row: an upsert restores it, so it is written
)

// stored is the stored row under one incoming row's key: its state, and its content hash when
// the state is live.
type stored struct {
	state storedState
	hash  []byte
}

// compareStored looks up the stored row of every row (of one source, with raw hashes set), in one
// query, and returns them by position. The text comparison runs in PostgreSQL and only rows that
// are not byte-identical to their stored row come back, so a re-sent identical row costs one
// primary-key probe and nothing else; only rows whose text differs bring their content hash.
func compareStored[R any](ctx context.Context, db queryer, k *kind[R], account, source uuid.UUID, rows []*row[R]) ([]stored, error) {
	out := make([]stored, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids, hashes := make([]string, len(rows)), make([][]byte, len(rows))
	for i, r := range rows {
		ids[i], hashes[i] = r.id, r.rawHash[:]
		out[i].state = sameText // unless it comes back
	}
	// One primary-key probe per id, whatever the statistics say: LIMIT 1 keeps the planner from
	// flattening the LATERAL subquery into a join, which on a young table (no statistics yet) it
	// would run as a hash of every stored row of the source, making a first import quadratic.
	q := `SELECT k.n, coalesce(t.state, 0::int2), CASE WHEN t.state = 2 THEN t.content_hash END
		FROM unnest($3::text[], $4::bytea[]) WITH ORDINALITY AS k(id, raw_hash, n)
		LEFT JOIN LATERAL (SELECT content_hash, CASE WHEN ` + k.archived + ` THEN 3::int2
				WHEN raw_hash = k.raw_hash THEN 1::int2 ELSE 2::int2 END AS state
			FROM ` + k.table + ` WHERE account_id = $1 AND source_id = $2 AND id = k.id LIMIT 1) t ON true
		WHERE t.state IS DISTINCT FROM 1`
	rs, err := db.QueryContext(ctx, q, prepared, [16]byte(account), [16]byte(source), ids, hashes)
	if err != nil {
		return nil, fmt.Errorf("read stored %s: %w", k.table, err)
	}
	defer rs.Close()
	for rs.Next() {
		var n int
		var st stored
		if err := rs.Scan(&n, &st.state, &st.hash); err != nil {
			return nil, fmt.Errorf("read stored %s: %w", k.table, err)
		}
		out[n-1] = st
	}
	return out, rs.Err()
}

// isForeignKeyViolation tells whether err is PostgreSQL refusing a write for a missing referenced row.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

// existing returns which of ids (distinct) exist in table for one source, in one query.
func existing(ctx context.Context, db queryer, table string, account, source uuid.UUID, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rs, err := db.QueryContext(ctx, `SELECT k.id FROM unnest($3::text[]) AS k(id)
		WHERE EXISTS (SELECT FROM `+table+` t WHERE t.account_id = $1 AND t.source_id = $2 AND t.id = k.id)`,
		account, source, ids)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", table, err)
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

// writtenIDs reads the RETURNING id, inserted rows of an upsert.
func writtenIDs(rs *sql.Rows, n int) (map[string]bool, error) {
	defer rs.Close()
	out := make(map[string]bool, n)
	for rs.Next() {
		var id string
		var inserted bool
		if err := rs.Scan(&id, &inserted); err != nil {
			return nil, err
		}
		out[id] = inserted
	}
	return out, rs.Err()
}

// resolveSources resolves every row's data source, from the cache or in one query for the
// references it does not hold, and marks unknown ones.
func resolveSources[R any](ctx context.Context, s *Service, account uuid.UUID, rows []row[R]) error {
	var missing []string
	seen := make(map[string]bool)
	for i := range rows {
		r := &rows[i]
		if r.sourceRef == "" {
			continue
		}
		if id, ok := s.sources.get(sourceRef{account, r.sourceRef}); ok {
			r.source = id
		} else if !seen[r.sourceRef] {
			seen[r.sourceRef] = true
			missing = append(missing, r.sourceRef)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	found, err := models.ResolveDataSources(s.DB.Gorm.WithContext(ctx), account, missing)
	if err != nil {
		return err
	}
	for ref, src := range found {
		s.sources.put(sourceRef{account, ref}, src.ID)
	}
	for i := range rows {
		r := &rows[i]
		if r.sourceRef == "" || r.source != uuid.Nil {
			continue
		}
		if src, ok := found[r.sourceRef]; ok {
			r.source = src.ID
		} else {
			r.errs = append(r.errs, validation.FieldError{Field: "data_source", Code: validation.CodeNotFound,
				Message: fmt.Sprintf("Data source %s does not exist", r.sourceRef)})
		}
	}
	return nil
}

// markDuplicates makes every later occurrence of an (id, data source) in the request an error:
// the first one is processed. PostgreSQL would otherwise refuse the whole statement ("cannot
// affect row a second time").
func markDuplicates[R any](noun string, rows []row[R]) {
	type key struct {
		source uuid.UUID
		ref    string // the raw reference when it did not resolve
		id     string
	}
	first := make(map[key]int, len(rows))
	for i := range rows {
		r := &rows[i]
		if r.id == "" {
			continue
		}
		k := key{source: r.source, id: r.id}
		if r.source == uuid.Nil {
			k.ref = r.sourceRef
		}
		if at, ok := first[k]; ok {
			r.errs = append(r.errs, validation.FieldError{Field: "id", Code: validation.CodeDuplicate,
				Message: fmt.Sprintf("Duplicate %s ID %s in this request (first at index %d)", noun, r.id, at)})
			continue
		}
		first[k] = i
	}
}

// groupBySource returns the rows without errors, grouped by source and sorted by (source, id), so
// that every transaction locks rows in one global order and overlapping batches cannot deadlock.
func groupBySource[R any](rows []row[R]) []*sourceGroup[R] {
	var valid []*row[R]
	for i := range rows {
		if len(rows[i].errs) == 0 {
			valid = append(valid, &rows[i])
		}
	}
	slices.SortFunc(valid, func(a, b *row[R]) int {
		if c := bytes.Compare(a.source[:], b.source[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	var groups []*sourceGroup[R]
	for _, r := range valid {
		if len(groups) == 0 || groups[len(groups)-1].source != r.source {
			groups = append(groups, &sourceGroup[R]{source: r.source})
		}
		g := groups[len(groups)-1]
		g.rows = append(g.rows, r)
	}
	return groups
}

// results turns rows into the response, in request order.
func results[R any](rows []row[R]) []Result {
	out := make([]Result, len(rows))
	for i := range rows {
		r := &rows[i]
		out[i] = Result{Index: r.index, ID: r.id, Status: r.status, Errors: r.errs}
		if len(r.errs) > 0 {
			out[i].Status = Failed
		}
	}
	return out
}
