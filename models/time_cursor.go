package models

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// A time cursor is the position in a list sorted newest first by (instant, id): prefix, then
// base64url of "<instant in µs>.<id>". The prefix binds it to its list (another list's cursor
// is refused); clients treat it as opaque. The imports list and the webhook deliveries log use it.

// EncodeTimeCursor returns the cursor after the row (at, id) of the list named by prefix.
func EncodeTimeCursor(prefix string, at time.Time, id uuid.UUID) string {
	return prefix + base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%s", at.UnixMicro(), id))
}

// DecodeTimeCursor reads a cursor of the list named by prefix: EINVALID for anything else.
func DecodeTimeCursor(prefix, s string) (time.Time, uuid.UUID, error) {
	bad := Errorf(EINVALID, "Invalid cursor.")
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, prefix))
	if err != nil || !strings.HasPrefix(s, prefix) || len(s) > 200 {
		return time.Time{}, uuid.Nil, bad
	}
	micros, idText, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil {
		return time.Time{}, uuid.Nil, bad
	}
	id, err := uuid.Parse(idText)
	if err != nil || len(idText) != 36 {
		return time.Time{}, uuid.Nil, bad
	}
	return time.UnixMicro(n).UTC(), id, nil
}
