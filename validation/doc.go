// Package validation owns the row rules of SPEC section 4: one raw JSON row in, a normalised row
// plus its field errors (field, code, message) out. It has no database access, so the rules that
// need one (a data source, customer or plan must exist; an id must not repeat in a request) belong
// to ingest, which adds CodeNotFound and CodeDuplicate errors of its own. DecodeBody splits a
// request body into those raw rows.
//
// Where the SPEC is silent, the package chooses as follows.
//
// Reading rows:
//   - Member names match exactly, case included ("ID" is an unknown member, and unknown members are
//     ignored). When a name appears twice, the last one wins, as in encoding/json.
//   - null means "not given": an optional field is then absent, a required one missing. An empty
//     string is "not given" too, for every string field.
//   - A field of the wrong JSON type (a number for a string, a string for an integer) is an invalid
//     field, never a dropped one.
//   - A row that is not valid JSON (possible only for an NDJSON line; DecodeBody refuses such a
//     whole body) is the whole-row error "Row is not valid JSON"; valid JSON that is not an object
//     is "Row must be a JSON object".
//
// Strings:
//   - Strings are kept exactly as given: not trimmed, not case-folded, except the codes below.
//   - They must be valid UTF-8 without NUL characters (PostgreSQL text cannot hold NUL); bad bytes
//     are refused rather than silently replaced, since a changed id would name another row.
//   - Lengths count bytes of UTF-8, not characters: a byte limit also bounds the characters, and the
//     message says "bytes" so it is never wrong. id, customer_id, data_source, plan_id and
//     subscription_id take 1 to 255 bytes; name and company at most 1000; email at most 254.
//   - type and interval_unit match in any ASCII case and are stored lower case.
//   - currency and country match in any case and are stored upper case. country is an ISO 3166-1
//     alpha-2 code as validator's iso3166_1_alpha2 knows them. currency is what validator's iso4217
//     accepts minus the codes that name no money (XAU, XAG, XPD, XPT, XBA, XBB, XBC, XBD, XDR, XSU,
//     XUA, XTS, XXX); the circulating X codes (XOF, XAF, XCD, XCG, XPF) and the fund codes still in
//     ISO 4217 (USN, CLF, ...) are accepted.
//   - email is what validator's email rule accepts, kept as given (the local part of an address is
//     case-sensitive).
//
// Numbers:
//   - amount_cents, quantity, discount and interval_count must be JSON integer literals that fit
//     an int64: 1.0, 1e2, "100" and true are invalid. -0 is 0.
//   - interval_count is at most 2147483647, as it is stored in 32 bits.
//   - discount is compared with amount_cents only when amount_cents is itself valid.
//
// Timestamps (ParseTimestamp, which the api package uses for its query parameters too):
//   - RFC 3339 as time.RFC3339Nano parses it, any offset, fractional seconds optional, with "t" and
//     "z" accepted in lower case (RFC 3339 allows it); or a bare YYYY-MM-DD, meaning 00:00 UTC.
//     A text over 64 bytes is refused (only a fraction can make it that long).
//   - The result is UTC, truncated to the microsecond (what PostgreSQL stores, so a re-sent row
//     compares equal to the stored one), and its year must be 1 to 9999 (so it can be written back
//     as RFC 3339).
//   - end_date is compared with start_date only when both are valid; equal dates are fine.
//
// Results:
//   - Every error of a row is reported, in the order of the SPEC's field table, not just the first.
//   - The returned row holds every field that passed its check (so ID can be echoed even for an
//     error row); a row with errors must not be stored.
//   - Messages quote an offending value as Go's %q does, cut to 64 bytes; a value that is not a
//     string is quoted as its JSON text.
//
// Parsed values never alias the input: every string is copied out of the row, because callers
// reuse the request body's buffer once a batch is answered (see api/buffers.go).
package validation
