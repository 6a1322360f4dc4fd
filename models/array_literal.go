package models

import (
	"encoding/hex"
	"strings"
)

// TextArray writes ss as a PostgreSQL array literal for a text[] parameter, each element quoted
// and escaped. pgx sends a string parameter in text form, which PostgreSQL reads into the
// statement's array type. A []string parameter goes to pgx's binary array encoder instead, which
// boxes every element into an interface value: for the thousand ids of a batch that was most of
// what the server spent sending a probe or an enqueue.
func TextArray(ss []string) string {
	n := 2
	for _, s := range ss {
		n += len(s) + 3
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteByte('{')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for j := 0; j < len(s); j++ {
			if c := s[j]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[j])
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// ByteaArray is TextArray for a bytea[] parameter: each element in bytea's hex form ("\x...",
// its backslash escaped inside the quotes). It is built in a strings.Builder, whose String does
// not copy: the literal of a 1,000-row batch's hashes is tens of kilobytes.
func ByteaArray(bs [][]byte) string {
	n := 2
	for _, v := range bs {
		n += 2*len(v) + 6
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteByte('{')
	var digits [64]byte
	for i, v := range bs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"\\x`)
		for len(v) > 0 { // hex digits through a small buffer, without allocating
			chunk := v[:min(len(v), len(digits)/2)]
			b.Write(digits[:hex.Encode(digits[:], chunk)])
			v = v[len(chunk):]
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
