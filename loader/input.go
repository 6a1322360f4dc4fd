package loader

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
)

// Input formats.
const (
	FormatCSV    = "csv"
	FormatNDJSON = "ndjson"
	FormatJSON   = "json"
)

// FormatOf names the format of path by its extension (after a .gz): .csv, .ndjson or .jsonl,
// .json. "" when the extension says nothing (standard input: the content decides).
func FormatOf(path string) string {
	p := strings.TrimSuffix(strings.ToLower(path), ".gz")
	switch {
	case strings.HasSuffix(p, ".csv"):
		return FormatCSV
	case strings.HasSuffix(p, ".ndjson"), strings.HasSuffix(p, ".jsonl"):
		return FormatNDJSON
	case strings.HasSuffix(p, ".json"):
		return FormatJSON
	}
	return ""
}

// Input is an opened input: its decompressed bytes and its format.
type Input struct {
	io.Reader
	Format string
	close  func() error
}

// Close closes the file (standard input is left open).
func (in *Input) Close() error { return in.close() }

// Open opens path ("-": stdin), gunzipping it when it is gzip (by its .gz extension, or its
// first bytes on standard input). format overrides the extension; when neither says, the first
// byte decides: '[' a JSON array, '{' NDJSON, anything else CSV.
func Open(path, format string, stdin io.Reader) (*Input, error) {
	in := &Input{Format: format, close: func() error { return nil }}
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		r, in.close = f, f.Close
		if in.Format == "" {
			in.Format = FormatOf(path)
		}
	}
	br := bufio.NewReaderSize(r, 256<<10)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			in.close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		br = bufio.NewReaderSize(zr, 256<<10)
	}
	in.Reader = br
	if in.Format == "" {
		in.Format = sniff(br)
	}
	return in, nil
}

// sniff guesses the format from the first non-blank byte.
func sniff(br *bufio.Reader) string {
	head, _ := br.Peek(4096)
	t := bytes.TrimLeft(head, " \t\r\n\ufeff")
	switch {
	case len(t) > 0 && t[0] == '[':
		return FormatJSON
	case len(t) > 0 && t[0] == '{':
		return FormatNDJSON
	}
	return FormatCSV
}

// NewSource returns the source of in's rows; header is the CSV header (nil for JSON).
func NewSource(in *Input, dataSource string, majorUnits bool) (Source, []string, error) {
	switch in.Format {
	case FormatCSV:
		return NewCSV(in, dataSource, majorUnits)
	case FormatNDJSON:
		return NewNDJSON(in, dataSource), nil, nil
	case FormatJSON:
		return NewJSONArray(in, dataSource), nil, nil
	}
	return nil, nil, fmt.Errorf("unknown format %q (csv, ndjson or json)", in.Format)
}

// CountRows counts the rows of an uncompressed NDJSON or CSV file by its line ends, for the
// progress display (a CSV cell holding a line break makes it an estimate); -1 when unknown.
func CountRows(path, format string) int64 {
	if path == "-" || strings.HasSuffix(strings.ToLower(path), ".gz") || (format != FormatNDJSON && format != FormatCSV) {
		return -1
	}
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	var n int64
	buf := make([]byte, 256<<10)
	last := byte('\n')
	for {
		k, err := f.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if k > 0 {
			last = buf[k-1]
		}
		if err != nil {
			break
		}
	}
	if last != '\n' {
		n++
	}
	if format == FormatCSV && n > 0 {
		n--
	}
	return n
}
