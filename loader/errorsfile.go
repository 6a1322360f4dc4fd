package loader

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"

	"invoice-ingest/client"
)

// ErrorSink receives every row in error with the answer that refused it.
type ErrorSink interface {
	Write(row Row, res client.RowResult) error
	Close() error
}

// OpenErrors creates the errors file at path: CSV with the input's header and an import_error
// column when header is not nil (CSV input), NDJSON otherwise. With appendTo (a resumed run) the
// rows of the earlier run stay and no header is repeated.
func OpenErrors(path string, header []string, appendTo bool) (ErrorSink, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendTo {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	bw := bufio.NewWriter(f)
	if header == nil {
		return &ndjsonErrors{f: f, w: bw}, nil
	}
	s := &csvErrors{f: f, bw: bw, w: csv.NewWriter(bw), width: len(header)}
	if info.Size() == 0 {
		err = s.w.Write(append(append([]string(nil), header...), "import_error"))
	}
	return s, err
}

// ndjsonErrors writes each row as read with "import_error" and "errors" added as its first
// members, so the file can be fixed and pushed again as it is (the service ignores unknown
// fields); a row that is not an object, or not JSON, is kept under "row" (as a string when it
// is not JSON).
type ndjsonErrors struct {
	f *os.File
	w *bufio.Writer
}

func (s *ndjsonErrors) Write(row Row, res client.RowResult) error {
	msg, _ := json.Marshal(res.ImportError)
	errs, _ := json.Marshal(res.Errors)
	head := append(append(append([]byte(`{"import_error":`), msg...), `,"errors":`...), errs...)
	orig := bytes.TrimSpace(row.Orig)
	switch {
	case len(orig) > 1 && orig[0] == '{' && json.Valid(orig):
		rest := bytes.TrimSpace(orig[1:])
		if rest[0] != '}' {
			head = append(head, ',')
		}
		head = append(head, rest...)
	case json.Valid(orig):
		head = append(append(append(head, `,"row":`...), orig...), '}')
	default:
		q, _ := json.Marshal(string(orig))
		head = append(append(append(head, `,"row":`...), q...), '}')
	}
	_, err := s.w.Write(append(head, '\n'))
	return err
}

func (s *ndjsonErrors) Close() error { return closeBuffered(s.w, s.f) }

// csvErrors writes each record as read plus its import_error.
type csvErrors struct {
	f     *os.File
	bw    *bufio.Writer
	w     *csv.Writer
	width int
}

func (s *csvErrors) Write(row Row, res client.RowResult) error {
	rec := make([]string, s.width, s.width+1)
	copy(rec, row.Record)
	return s.w.Write(append(rec, res.ImportError))
}

func (s *csvErrors) Close() error {
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		s.f.Close()
		return err
	}
	return closeBuffered(s.bw, s.f)
}

func closeBuffered(w *bufio.Writer, f *os.File) error {
	err := w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
