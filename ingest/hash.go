package ingest

import (
	"encoding/binary"
	"time"

	"github.com/zeebo/xxh3"

	"invoice-ingest/validation"
)

// hashVersion starts every digest, so a change of what is hashed (or how) makes every stored row
// differ once instead of comparing digests of different shapes. 2: XXH3-128 instead of SHA-256.
const hashVersion = 2

// hasher builds the content digest of a row: each field length-prefixed, so no two different
// rows share an encoding. Absent optional values differ from empty ones. One hasher serves a whole
// batch: start resets it for the next row.
type hasher struct{ buf []byte }

// start begins the digest of a new row.
func (h *hasher) start() *hasher {
	h.buf = append(h.buf[:0], hashVersion)
	return h
}

func (h *hasher) str(s string) *hasher {
	h.buf = binary.AppendUvarint(h.buf, uint64(len(s)))
	h.buf = append(h.buf, s...)
	return h
}

func (h *hasher) int(v int64) *hasher {
	h.buf = binary.AppendVarint(h.buf, v)
	return h
}

func (h *hasher) optInt(p *int64) *hasher {
	if p == nil {
		h.buf = append(h.buf, 0)
		return h
	}
	h.buf = append(h.buf, 1)
	return h.int(*p)
}

func (h *hasher) time(t time.Time) *hasher { return h.int(t.UnixMicro()) }

// digest is a 128-bit row digest, kept inline in each row (no allocation per row).
type digest = [16]byte

// sum returns the 128-bit XXH3 of the encoding: plenty to tell a changed row (see rawDigest).
func (h *hasher) sum() digest {
	return xxh3.Hash128(h.buf).Bytes()
}

// rawDigest is the digest of a row's exact JSON text under this release's rules: 128-bit XXH3,
// seeded with hashVersion and validation.RulesVersion. Equal digests under one key mean the client
// sent the very same bytes as the stored row's last write, and the rules that accepted them then
// still hold. It runs on every row of every batch, before anything else is known, so it must be
// cheap (see DEPENDENCIES.md). An accidental collision of two versions of one row is a 2^-128
// event; a client able to craft one would only fool itself about its own row.
//
// The content digest needs no rules version: a row parsed under new rules is compared by the
// content they give it, so one they normalise as before stays "unchanged" and is not rewritten.
func rawDigest(raw []byte) digest {
	return xxh3.Hash128Seed(raw, rawSeed).Bytes()
}

// rawSeed seeds rawDigest.
const rawSeed = hashVersion<<32 | validation.RulesVersion
