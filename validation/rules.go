package validation

// RulesVersion names the rules of this package: bump it whenever a release changes which rows
// are accepted or how an accepted row is normalised. It is folded into the digest of each row's
// text (see package ingest), so a byte-identical re-send is parsed again under new rules instead
// of answering "unchanged" from its stored digest: a row the new rules refuse gets its errors, and
// a row they normalise differently is rewritten.
const RulesVersion = 1
