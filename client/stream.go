package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// StreamError is a stream that the service ended early with an {"error": ...} line: the chunks
// answered before it are stored, the rest is not (SPEC 4). Send the whole stream again: stored
// rows then answer unchanged.
type StreamError struct{ Problem APIError }

func (e *StreamError) Error() string { return "the stream was ended: " + e.Problem.Error() }

// Stream sends body, one JSON row per line, to entity's write route as application/x-ndjson and
// calls onResult for each row's answer as it arrives. It returns the import's id. A stream is
// sent once: it is not retried (its body is read as it goes), and a stream cannot carry an
// Idempotency-Key; a failed stream is safely sent again whole. An answer other than 200 is an
// *APIError.
func (c *Client) Stream(ctx context.Context, entity Entity, body io.Reader, dryRun bool, onResult func(RowResult) error) (string, error) {
	if !entity.Valid() {
		return "", fmt.Errorf("client: unknown entity %q", entity)
	}
	path := "/data/" + string(entity)
	if dryRun {
		path += "?dry_run=true"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+path, body)
	if err != nil {
		return "", err
	}
	c.headers(req, http.Header{"Content-Type": {"application/x-ndjson"}, "Accept": {"application/x-ndjson"}})
	res, err := c.httpClient().Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		return "", problem(&response{status: res.StatusCode, header: res.Header, body: b})
	}
	return res.Header.Get("Import-Id"), readResults(res.Body, onResult)
}

// readResults parses an NDJSON answer line by line.
func readResults(r io.Reader, onResult func(RowResult) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var v struct {
			RowResult
			Error *APIError `json:"error"`
		}
		if err := json.Unmarshal(line, &v); err != nil {
			return fmt.Errorf("the stream's answer has a line that is not JSON: %w", err)
		}
		if v.Error != nil {
			return &StreamError{Problem: *v.Error}
		}
		if err := onResult(v.RowResult); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
