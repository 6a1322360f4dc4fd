package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// BatchOptions are the options of one JSON batch.
type BatchOptions struct {
	// IdempotencyKey, when set, makes the batch run once however often it is sent (SPEC 3); the
	// client retries only batches that carry one, since a retry without could apply twice.
	IdempotencyKey string
	DryRun         bool // ?dry_run=true: statuses computed, nothing written; never stored under the key
}

// Upsert sends rows (each one JSON value, normally an object) to the write route of entity as
// one JSON array and returns the per-row answers, in row order.
func (c *Client) Upsert(ctx context.Context, entity Entity, rows []json.RawMessage, opts BatchOptions) (*BatchResult, error) {
	if !entity.Valid() {
		return nil, fmt.Errorf("client: unknown entity %q", entity)
	}
	body := encodeArray(rows)
	path := "/data/" + string(entity)
	if opts.DryRun {
		path += "?dry_run=true"
	}
	h := http.Header{}
	if opts.IdempotencyKey != "" {
		h.Set("Idempotency-Key", opts.IdempotencyKey)
	}
	res, err := c.do(ctx, request{method: http.MethodPost, path: path, body: body, header: h, retry: opts.IdempotencyKey != ""})
	if err != nil {
		return nil, err
	}
	var out BatchResult
	if err := json.Unmarshal(res.body, &out); err != nil {
		return nil, &GaveUpError{Attempts: 1, Err: fmt.Errorf("the answer to a batch is not JSON: %w", err)}
	}
	if len(out.Results) != len(rows) {
		return nil, &GaveUpError{Attempts: 1, Err: fmt.Errorf("the service answered %d results for %d rows", len(out.Results), len(rows))}
	}
	out.Replayed = res.header.Get("Idempotent-Replayed") == "true"
	return &out, nil
}

// UpsertTyped marshals rows and sends them as Upsert does.
func UpsertTyped[T Customer | Plan | Invoice](ctx context.Context, c *Client, entity Entity, rows []T, opts BatchOptions) (*BatchResult, error) {
	raw, err := Marshal(rows)
	if err != nil {
		return nil, err
	}
	return c.Upsert(ctx, entity, raw, opts)
}

// encodeArray joins rows into one JSON array.
func encodeArray(rows []json.RawMessage) []byte {
	n := 2
	for _, r := range rows {
		n += len(r) + 1
	}
	b := bytes.NewBuffer(make([]byte, 0, n))
	b.WriteByte('[')
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(r)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// DataSource is a data source of the account.
type DataSource struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
}

// EnsureDataSource creates the data source name, or returns it when it exists (the route is
// idempotent, so it is retried).
func (c *Client) EnsureDataSource(ctx context.Context, name string) (*DataSource, error) {
	body, _ := json.Marshal(map[string]string{"name": name})
	res, err := c.do(ctx, request{method: http.MethodPost, path: "/data/data_sources", body: body, retry: true})
	if err != nil {
		return nil, err
	}
	var ds DataSource
	return &ds, decodeResult(res.body, &ds)
}

// ArchiveInvoice archives the invoice id of source (DELETE /data/invoices/{id}); archiving an
// archived invoice changes nothing. found is false when the invoice does not exist (404).
// archivedBefore reports whether it was archived already, read first with GET.
func (c *Client) ArchiveInvoice(ctx context.Context, source, id string) (found, archivedBefore bool, err error) {
	path := "/data/invoices/" + url.PathEscape(id) + "?source=" + url.QueryEscape(source)
	var inv struct {
		ArchivedAt *string `json:"archived_at"`
	}
	if err := c.getJSON(ctx, path, &inv); err != nil {
		if IsNotFound(err) {
			return false, false, nil
		}
		return false, false, err
	}
	if inv.ArchivedAt != nil {
		return true, true, nil
	}
	_, err = c.do(ctx, request{method: http.MethodDelete, path: path, retry: true})
	return err == nil, false, err
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	e, ok := err.(*APIError)
	return ok && e.Status == http.StatusNotFound
}

// Import is an import record (GET /data/imports/{id}), its counts and status.
type Import struct {
	ID        string `json:"id"`
	Entity    string `json:"entity"`
	Status    string `json:"status"`
	DryRun    bool   `json:"dry_run"`
	Rows      int64  `json:"rows"`
	Inserted  int64  `json:"inserted"`
	Updated   int64  `json:"updated"`
	Unchanged int64  `json:"unchanged"`
	Errors    int64  `json:"errors"`
}

// Import reads one import record.
func (c *Client) Import(ctx context.Context, id string) (*Import, error) {
	var imp Import
	return &imp, c.getJSON(ctx, "/data/imports/"+url.PathEscape(id), &imp)
}

// Imports reads the newest imports (up to limit, 1 to 1000).
func (c *Client) Imports(ctx context.Context, limit int) ([]Import, error) {
	var page struct {
		List []Import `json:"list"`
	}
	err := c.getJSON(ctx, fmt.Sprintf("/data/imports?limit=%d", limit), &page)
	return page.List, err
}
