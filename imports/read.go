package imports

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/models"
	"invoice-ingest/recalc"
)

// Import is an import as GET /data/imports shows it, its metrics from recalc.
type Import struct {
	Header
	Status          string
	FinishedAt      *time.Time
	Counts          Counts
	ErrorsTruncated bool
	Metrics         recalc.Progress
}

const importColumns = `id, entity, status, dry_run, content_type, key_id, started_at, finished_at,
    row_count, inserted, updated, unchanged, errors, errors_truncated`

// Get returns the account's import id: ENOTFOUND for another account's or an unknown id.
func Get(ctx context.Context, db *gorm.DB, account, id uuid.UUID) (Import, error) {
	list, err := query(ctx, db, account, `SELECT `+importColumns+` FROM imports
WHERE account_id = $1 AND id = $2`, [16]byte(account), [16]byte(id))
	if err == nil && len(list) == 0 {
		err = models.Errorf(models.ENOTFOUND, "Import %s does not exist.", id)
	}
	if err != nil {
		return Import{}, err
	}
	return list[0], nil
}

// List returns a page of the account's imports, newest first (started_at, then id, descending),
// only those whose rows named source when it is not uuid.Nil; next is the cursor after the last
// one when more follow.
func List(ctx context.Context, db *gorm.DB, account, source uuid.UUID, limit int, cursor string) (list []Import, next string, more bool, err error) {
	if limit <= 0 {
		limit = models.DefaultPageLimit
	}
	q := `SELECT ` + importColumns + ` FROM imports WHERE account_id = $1`
	args := []any{[16]byte(account)}
	if source != uuid.Nil {
		args = append(args, [16]byte(source))
		q += fmt.Sprintf(" AND $%d::uuid = ANY(source_ids)", len(args))
	}
	if cursor != "" {
		at, id, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", false, err
		}
		args = append(args, at, [16]byte(id))
		q += fmt.Sprintf(" AND (started_at, id) < ($%d, $%d)", len(args)-1, len(args))
	}
	args = append(args, limit+1)
	q += fmt.Sprintf(" ORDER BY started_at DESC, id DESC LIMIT $%d", len(args))
	list, err = query(ctx, db, account, q, args...)
	if err != nil {
		return nil, "", false, err
	}
	if len(list) > limit {
		list, more = list[:limit], true
		last := list[limit-1]
		next = encodeCursor(last.StartedAt, last.ID)
	}
	return list, next, more, nil
}

// query runs an imports query of importColumns and adds each import's metrics.
func query(ctx context.Context, db *gorm.DB, account uuid.UUID, q string, args ...any) ([]Import, error) {
	rows, err := db.WithContext(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("read imports: %w", err)
	}
	defer rows.Close()
	var list []Import
	for rows.Next() {
		i := Import{Header: Header{AccountID: account}}
		c := &i.Counts
		if err := rows.Scan(&i.ID, &i.Entity, &i.Status, &i.DryRun, &i.ContentType, &i.KeyID, &i.StartedAt,
			&i.FinishedAt, &c.Rows, &c.Inserted, &c.Updated, &c.Unchanged, &c.Errors, &i.ErrorsTruncated); err != nil {
			return nil, fmt.Errorf("scan import: %w", err)
		}
		list = append(list, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read imports: %w", err)
	}
	return withMetrics(ctx, db, account, list)
}

// withMetrics adds recalc's progress to each import. While an import runs, or pending is above 0,
// it is not caught up; once it is finished and pending is 0, it caught up when its last customer
// did, or when it finished, whichever is later (an import that queued nothing: when it finished).
func withMetrics(ctx context.Context, db *gorm.DB, account uuid.UUID, list []Import) ([]Import, error) {
	ids := make([]uuid.UUID, len(list))
	for i := range list {
		ids[i] = list[i].ID
	}
	progress, err := recalc.ImportProgress(ctx, db, account, ids)
	if err != nil {
		return nil, err
	}
	for i := range list {
		imp := &list[i]
		p := progress[imp.ID]
		at := p.CaughtUpAt
		switch {
		case imp.FinishedAt == nil || p.Pending > 0:
			at = nil
		case at == nil || at.Before(*imp.FinishedAt):
			at = imp.FinishedAt
		}
		imp.Metrics = recalc.Progress{Customers: max(p.Customers, 0), Pending: p.Pending, CaughtUpAt: at}
	}
	return list, nil
}

// cursorPrefix binds this list's cursors (models.EncodeTimeCursor) to it.
const cursorPrefix = "i."

func encodeCursor(at time.Time, id uuid.UUID) string {
	return models.EncodeTimeCursor(cursorPrefix, at, id)
}

func decodeCursor(s string) (time.Time, uuid.UUID, error) {
	return models.DecodeTimeCursor(cursorPrefix, s)
}

// ErrorRows calls fn with each kept row in error of the account's import id, in index order,
// streaming them from one query: ENOTFOUND before any call when there is no such import.
func ErrorRows(ctx context.Context, db *gorm.DB, account, id uuid.UUID, fn func(ErrorRow) error) error {
	if _, err := Get(ctx, db, account, id); err != nil {
		return err
	}
	rows, err := db.WithContext(ctx).Raw(`SELECT idx, coalesce(row_id, ''), line, raw, raw_json FROM import_errors
WHERE account_id = $1 AND import_id = $2 ORDER BY idx`, [16]byte(account), [16]byte(id)).Rows()
	if err != nil {
		return fmt.Errorf("read import errors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r ErrorRow
		var line sql.RawBytes
		if err := rows.Scan(&r.Index, &r.ID, &line, &r.Raw, &r.RawJSON); err != nil {
			return fmt.Errorf("scan import error: %w", err)
		}
		r.Line = line
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}
