package imports

import "time"

// Object is an import on the wire (SPEC 4): what GET /data/imports/{id} answers and what the
// import webhooks carry as data. finished_at and metrics.caught_up_at are null until they happen.
type Object struct {
	ID              string        `json:"id"`
	Entity          string        `json:"entity"`
	Status          string        `json:"status"`
	DryRun          bool          `json:"dry_run"`
	ContentType     string        `json:"content_type"`
	KeyID           string        `json:"key_id"`
	StartedAt       time.Time     `json:"started_at"`
	FinishedAt      *time.Time    `json:"finished_at"`
	Rows            int64         `json:"rows"`
	Inserted        int64         `json:"inserted"`
	Updated         int64         `json:"updated"`
	Unchanged       int64         `json:"unchanged"`
	Errors          int64         `json:"errors"`
	ErrorsTruncated bool          `json:"errors_truncated"`
	Metrics         ObjectMetrics `json:"metrics"`
}

// ObjectMetrics is how far the recalculation an import queued has come.
type ObjectMetrics struct {
	Customers  int64      `json:"customers"`
	Pending    int64      `json:"pending"`
	CaughtUpAt *time.Time `json:"caught_up_at"`
}

// Object returns i on the wire, its instants in UTC.
func (i Import) Object() Object {
	c := i.Counts
	return Object{
		ID: i.ID.String(), Entity: i.Entity, Status: i.Status, DryRun: i.DryRun, ContentType: i.ContentType,
		KeyID: i.KeyID.String(), StartedAt: i.StartedAt.UTC(), FinishedAt: utc(i.FinishedAt),
		Rows: c.Rows, Inserted: c.Inserted, Updated: c.Updated, Unchanged: c.Unchanged, Errors: c.Errors,
		ErrorsTruncated: i.ErrorsTruncated,
		Metrics: ObjectMetrics{Customers: i.Metrics.Customers, Pending: i.Metrics.Pending,
			CaughtUpAt: utc(i.Metrics.CaughtUpAt)},
	}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
