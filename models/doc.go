// Package models owns the database: the schema (versioned SQL migrations embedded in the binary),
// the GORM row types, opening the pool, and the read and small write queries of accounts, keys and
// data sources. It imports nothing of ours; the write path of bulk rows lives in package ingest.
package models
