package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// DataSource is one of an account's billing systems; rows are keyed by it.
type DataSource struct {
	AccountID uuid.UUID `gorm:"type:uuid;primaryKey"`
	ID        uuid.UUID `gorm:"type:uuid;primaryKey"`
	Name      string
	CreatedAt time.Time
}

// maxSourceName bounds a data source name.
const maxSourceName = 255

// CreateDataSource creates the named source, or returns the existing one of that name (created
// false). Concurrent calls with one name end with one source.
func (db *DB) CreateDataSource(ctx context.Context, accountID uuid.UUID, name string) (DataSource, bool, error) {
	name = strings.TrimSpace(name)
	if !validID(name) {
		return DataSource{}, false, Errorf(EINVALID, "name must be a string of 1 to %d bytes of valid UTF-8 without NUL characters.", maxSourceName)
	}
	if _, err := uuid.Parse(name); err == nil {
		// Sources are named by UUID or name wherever they are referenced: a UUID-shaped name would be ambiguous.
		return DataSource{}, false, Errorf(EINVALID, "name must not be a UUID.")
	}
	src := DataSource{AccountID: accountID, ID: uuid.New(), Name: name, CreatedAt: Now()}
	res := db.Gorm.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&src)
	if res.Error != nil {
		return DataSource{}, false, fmt.Errorf("insert data source: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return src, true, nil
	}
	var existing DataSource
	if err := db.Gorm.WithContext(ctx).Where("account_id = ? AND name = ?", accountID, name).Take(&existing).Error; err != nil {
		return DataSource{}, false, fmt.Errorf("read data source: %w", err)
	}
	return existing, false, nil
}

// ListDataSources returns the account's sources by name.
func (db *DB) ListDataSources(ctx context.Context, accountID uuid.UUID) ([]DataSource, error) {
	var list []DataSource
	err := db.Gorm.WithContext(ctx).Where("account_id = ?", accountID).Order("name").Find(&list).Error
	if err != nil {
		return nil, fmt.Errorf("list data sources: %w", err)
	}
	return list, nil
}

// FindDataSource returns the account's source named by UUID or name, or an ENOTFOUND error.
func (db *DB) FindDataSource(ctx context.Context, accountID uuid.UUID, ref string) (DataSource, error) {
	found, err := ResolveDataSources(db.Gorm.WithContext(ctx), accountID, []string{ref})
	if err != nil {
		return DataSource{}, err
	}
	src, ok := found[ref]
	if !ok {
		return DataSource{}, Errorf(ENOTFOUND, "Data source %s does not exist.", ref)
	}
	return src, nil
}

// ResolveDataSources looks up, in one query, the account's sources named by the given references
// (each a UUID or a name). The map is keyed by reference; unknown references are absent.
func ResolveDataSources(tx *gorm.DB, accountID uuid.UUID, refs []string) (map[string]DataSource, error) {
	var ids []uuid.UUID
	var names []string
	for _, r := range refs {
		if id, err := uuid.Parse(r); err == nil {
			ids = append(ids, id)
		} else {
			names = append(names, r)
		}
	}
	out := make(map[string]DataSource, len(refs))
	if len(ids) == 0 && len(names) == 0 {
		return out, nil
	}
	q := tx.Where("account_id = ?", accountID)
	switch {
	case len(ids) > 0 && len(names) > 0:
		q = q.Where("id IN ? OR name IN ?", ids, names)
	case len(ids) > 0:
		q = q.Where("id IN ?", ids)
	default:
		q = q.Where("name IN ?", names)
	}
	var list []DataSource
	if err := q.Find(&list).Error; err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("resolve data sources: %w", err)
	}
	byID := make(map[uuid.UUID]DataSource, len(list))
	byName := make(map[string]DataSource, len(list))
	for _, s := range list {
		byID[s.ID], byName[s.Name] = s, s
	}
	for _, r := range refs {
		if id, err := uuid.Parse(r); err == nil {
			if s, ok := byID[id]; ok {
				out[r] = s
			}
		} else if s, ok := byName[r]; ok {
			out[r] = s
		}
	}
	return out, nil
}
