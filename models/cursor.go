package models

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Page asks for one page of a list: at most Limit rows (0 means DefaultPageLimit) after the row
// that Cursor names ("" is the first page).
type Page struct {
	Limit  int
	Cursor string
}

// Bounds of Page.Limit.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

// ParsePage reads a page request as a client wrote it: limit "" is DefaultPageLimit, anything but
// an integer from 1 to MaxPageLimit an EINVALID error. The cursor is checked by the list that
// uses it, as only that list knows its shape.
func ParsePage(limit, cursor string) (Page, error) {
	p := Page{Limit: DefaultPageLimit, Cursor: cursor}
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 {
			return Page{}, errBadLimit()
		}
		p.Limit = n
	}
	_, err := p.limit()
	return p, err
}

// limit returns the page size, or an EINVALID error when it is out of range.
func (p Page) limit() (int, error) {
	switch {
	case p.Limit == 0:
		return DefaultPageLimit, nil
	case p.Limit < 1 || p.Limit > MaxPageLimit:
		return 0, errBadLimit()
	}
	return p.Limit, nil
}

func errBadLimit() error {
	return Errorf(EINVALID, "limit must be an integer from 1 to %d.", MaxPageLimit)
}

// cursor is the position after which the next page starts: the sort key of the last row the
// client saw. Encoded as base64url JSON; opaque to clients, who must not build one themselves.
// D (microseconds since the Unix epoch, PostgreSQL's own precision) is set for invoices only,
// which are sorted by date first.
type cursor struct {
	D *int64 `json:"d,omitempty"`
	I string `json:"i"`
}

// errBadCursor is what any cursor that does not decode answers.
func errBadCursor() error { return Errorf(EINVALID, "Invalid cursor.") }

// maxCursorLen bounds what is decoded: ids are at most 255 characters.
const maxCursorLen = 2048

func encodeCursor(c cursor) string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // a struct of an int and a string always marshals
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor decodes s, which must carry a date exactly when withDate is set (so a customer's
// cursor does not pass for an invoice's).
func decodeCursor(s string, withDate bool) (cursor, error) {
	if len(s) > maxCursorLen {
		return cursor{}, errBadCursor()
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, errBadCursor()
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c cursor
	if err := dec.Decode(&c); err != nil || dec.More() || !validID(c.I) || (c.D != nil) != withDate {
		return cursor{}, errBadCursor()
	}
	return c, nil
}

// invoiceCursor names the position just after inv in date DESC, id ASC order.
func invoiceCursor(inv Invoice) string {
	d := inv.Date.UnixMicro()
	return encodeCursor(cursor{D: &d, I: inv.ID})
}

// cursorDate returns the date of an invoice cursor.
func (c cursor) date() time.Time { return time.UnixMicro(*c.D).UTC() }

// validID tells whether s can be a stored id: 1 to 255 bytes of valid UTF-8 without NUL.
func validID(s string) bool {
	return s != "" && len(s) <= 255 && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}
