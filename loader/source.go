package loader

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"invoice-ingest/client"
)

// Row is one input row: what is sent, and what was read (for the errors file).
type Row struct {
	JSON   json.RawMessage   // the row as sent; nil when it failed before sending (Local)
	Local  *client.RowResult // an error found while reading (not JSON, a bad amount); nil otherwise
	Orig   []byte            // the row as read, for JSON input
	Record []string          // the record as read, for CSV input
}

// Source yields rows until io.EOF.
type Source interface {
	Next() (Row, error)
}

// localError is a row refused before sending, worded like the service's row errors.
func localError(field, code, msg string) *client.RowResult {
	return &client.RowResult{ImportStatus: client.StatusError, ImportError: msg,
		Errors: []client.FieldError{{Field: field, Code: code, Message: msg}}}
}

// jsonRow checks one JSON row and fills data_source with source when the row has none.
func jsonRow(b []byte, source string) Row {
	orig := append([]byte(nil), b...)
	var probe struct {
		DataSource json.RawMessage `json:"data_source"`
	}
	if err := json.Unmarshal(orig, &probe); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && json.Valid(orig) { // not an object: the service says so
			return Row{JSON: orig, Orig: orig}
		}
		return Row{Orig: orig, Local: localError("", "invalid", fmt.Sprintf("Row is not JSON: %v", err))}
	}
	if source == "" || probe.DataSource != nil {
		return Row{JSON: orig, Orig: orig}
	}
	q, _ := json.Marshal(source)
	out := make([]byte, 0, len(orig)+len(q)+16)
	i := bytes.IndexByte(orig, '{') + 1
	out = append(out, orig[:i]...)
	out = append(out, `"data_source":`...)
	out = append(out, q...)
	if rest := bytes.TrimSpace(orig[i:]); len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	out = append(out, orig[i:]...)
	return Row{JSON: out, Orig: orig}
}

// ndjsonSource reads one JSON row per line; blank lines are skipped.
type ndjsonSource struct {
	r      *bufio.Reader
	source string
}

// NewNDJSON returns a source of NDJSON rows from r.
func NewNDJSON(r io.Reader, source string) Source {
	return &ndjsonSource{r: bufio.NewReaderSize(r, 256<<10), source: source}
}

func (s *ndjsonSource) Next() (Row, error) {
	for {
		line, err := s.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			line, err = s.long(line)
		}
		if t := bytes.TrimSpace(line); len(t) > 0 {
			return jsonRow(t, s.source), nil
		}
		if err != nil {
			return Row{}, err
		}
	}
}

// long reads the rest of a line longer than the buffer.
func (s *ndjsonSource) long(start []byte) ([]byte, error) {
	buf := append([]byte(nil), start...)
	for {
		more, err := s.r.ReadSlice('\n')
		buf = append(buf, more...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return buf, err
		}
	}
}

// arraySource reads the elements of one JSON array, one at a time.
type arraySource struct {
	dec    *json.Decoder
	source string
	opened bool
}

// NewJSONArray returns a source of the rows of a JSON array read from r.
func NewJSONArray(r io.Reader, source string) Source {
	return &arraySource{dec: json.NewDecoder(bufio.NewReaderSize(r, 256<<10)), source: source}
}

func (s *arraySource) Next() (Row, error) {
	if !s.opened {
		tok, err := s.dec.Token()
		if err != nil {
			return Row{}, fmt.Errorf("the input is not a JSON array: %w", err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return Row{}, fmt.Errorf("the input is not a JSON array (it starts with %v)", tok)
		}
		s.opened = true
	}
	if !s.dec.More() {
		if _, err := s.dec.Token(); err != nil {
			return Row{}, fmt.Errorf("the JSON array is not closed: %w", err)
		}
		return Row{}, io.EOF
	}
	var raw json.RawMessage
	if err := s.dec.Decode(&raw); err != nil {
		return Row{}, fmt.Errorf("the JSON array breaks off: %w", err)
	}
	return jsonRow(raw, s.source), nil
}
