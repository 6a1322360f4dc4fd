package loader

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"invoice-ingest/client"
)

// integerFields are the row fields a CSV cell holds as a JSON integer; moneyFields are those of
// them that --amount-unit major reads as decimals of the row's currency.
var (
	integerFields = map[string]bool{"amount_cents": true, "quantity": true, "discount": true, "interval_count": true}
	moneyFields   = map[string]bool{"amount_cents": true, "discount": true}
)

// csvSource reads a CSV file whose header names the row fields. Empty cells are absent.
type csvSource struct {
	r      *csv.Reader
	header []string
	source string
	major  bool // amounts are decimals in major units
}

// NewCSV returns a source of the rows of a CSV file read from r; the header is read at once.
func NewCSV(r io.Reader, source string, majorUnits bool) (Source, []string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a short or long record is that row's error, not the file's
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, fmt.Errorf("the CSV input is empty (it needs a header)")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("the CSV header: %w", err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	return &csvSource{r: cr, header: header, source: source, major: majorUnits}, header, nil
}

func (s *csvSource) Next() (Row, error) {
	rec, err := s.r.Read()
	if err == io.EOF {
		return Row{}, io.EOF
	}
	if perr, ok := err.(*csv.ParseError); ok { // that record's error; reading goes on after it
		return Row{Local: localError("", "invalid", "CSV: "+perr.Error())}, nil
	}
	if err != nil {
		return Row{}, fmt.Errorf("the CSV input: %w", err)
	}
	if len(rec) != len(s.header) {
		return Row{Record: rec, Local: localError("", "invalid",
			fmt.Sprintf("Row has %d cells, the header %d", len(rec), len(s.header)))}, nil
	}
	obj, local := s.object(rec)
	if local != nil {
		return Row{Record: rec, Local: local}, nil
	}
	return Row{JSON: obj, Record: rec}, nil
}

// object turns a record into a JSON object; a cell that cannot be converted is the row's error.
func (s *csvSource) object(rec []string) (json.RawMessage, *client.RowResult) {
	currency := ""
	for i, h := range s.header {
		if h == "currency" {
			currency = strings.TrimSpace(rec[i])
		}
	}
	b := make([]byte, 0, 256)
	b = append(b, '{')
	hasSource := false
	for i, h := range s.header {
		cell := rec[i]
		if cell == "" || h == "" || h == "import_error" {
			continue
		}
		hasSource = hasSource || h == "data_source"
		v, local := s.cell(h, cell, currency)
		if local != nil {
			return nil, local
		}
		b = appendMember(b, h, v)
	}
	if !hasSource && s.source != "" {
		b = appendMember(b, "data_source", mustJSON(s.source))
	}
	return append(b, '}'), nil
}

// cell is the JSON value of one cell: an integer field as a number when it is one (otherwise as
// the text, which the service refuses naming the field), everything else as a string.
func (s *csvSource) cell(field, cell, currency string) ([]byte, *client.RowResult) {
	if !integerFields[field] {
		return mustJSON(cell), nil
	}
	t := strings.TrimSpace(cell)
	if s.major && moneyFields[field] {
		if currency == "" {
			return nil, localError(field, "required", fmt.Sprintf("%s in major units needs the row's currency", field))
		}
		n, err := client.MajorToMinor(t, currency)
		if err != nil {
			return nil, localError(field, "invalid", fmt.Sprintf("%s: %v", field, err))
		}
		return strconv.AppendInt(nil, n, 10), nil
	}
	if _, err := strconv.ParseInt(t, 10, 64); err == nil {
		return []byte(t), nil
	}
	return mustJSON(cell), nil
}

func appendMember(b []byte, name string, v []byte) []byte {
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = append(b, mustJSON(name)...)
	b = append(b, ':')
	return append(b, v...)
}

// mustJSON encodes a string (which cannot fail).
func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
