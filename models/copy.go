package models

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// A write transaction of new invoices spends most of PostgreSQL's time in the insert itself, and
// COPY costs PostgreSQL less per row than INSERT ... SELECT FROM unnest ... ON CONFLICT (the load
// tool's COPY and raw passes show how much; docs/behaviour.md, "Writing new rows", says when the
// write path uses it). Neither GORM nor database/sql can send COPY, so WriteTransaction holds one
// pool connection for the transaction it begins through GORM, and CopyNewInvoices sends COPY on
// that connection, inside that transaction, through pgx.

// WriteTransaction is Transaction, but on one connection of the pool held for fn, so that
// CopyNewInvoices can COPY within the transaction. Everything else runs through GORM as usual.
func WriteTransaction(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return TxError(ctx, err)
	}
	defer conn.Close()
	s := db.WithContext(ctx)
	s.Statement.ConnPool = heldConn{conn}
	return TxError(ctx, s.Transaction(fn))
}

// heldConn is a pool connection as GORM's connection: its transactions are heldTx.
type heldConn struct{ *sql.Conn }

// BeginTx begins a transaction that remembers its connection (gorm.ConnPoolBeginner).
func (c heldConn) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &heldTx{Tx: tx, conn: c.Conn}, nil
}

// heldTx is a transaction of a heldConn: GORM runs statements and the commit on the *sql.Tx.
type heldTx struct {
	*sql.Tx
	conn *sql.Conn
}

// ErrCopyRefused is PostgreSQL refusing CopyNewInvoices' rows in a way the INSERT it replaces
// would have handled or reported by its own code: one of them is stored after all (23505; the
// INSERT leaves it to the upsert), or, on Citus, any refusal: Citus reports a worker's refusal of
// COPY data as XX000 with the worker's message, dropping its SQLSTATE (a unique or foreign-key
// violation), where its INSERT keeps them. The transaction is aborted and has to run again
// without COPY. A foreign-key violation on PostgreSQL (23503) is returned as it is: the caller
// names the bad rows from it either way.
var ErrCopyRefused = errors.New("the rows sent by COPY were refused")

// invoiceCopyColumns are the columns CopyNewInvoices writes, in the order of its values.
var invoiceCopyColumns = []string{"account_id", "source_id", "id", "customer_id", "type", "date", "amount_cents",
	"currency", "plan_id", "subscription_id", "start_date", "end_date", "quantity", "discount", "content_hash",
	"raw_hash", "created_at", "updated_at"}

var copyInvoicesSQL = "COPY invoices (" + strings.Join(invoiceCopyColumns, ", ") + ") FROM STDIN (FORMAT binary)"

// CopyNewInvoices inserts invoices of one source that the caller found absent, with COPY, and
// returns them all as inserted. When one is stored after all (another writer was first), COPY
// fails and so does the transaction: the error wraps ErrCopyRefused, and the caller runs its
// transaction again with InsertNewInvoices (so also on Citus after any refusal: see
// ErrCopyRefused). Outside a WriteTransaction it is InsertNewInvoices.
func CopyNewInvoices(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, v InvoiceColumns) (Written, error) {
	held, ok := tx.Statement.ConnPool.(*heldTx)
	if !ok {
		return InsertNewInvoices(ctx, tx, account, source, now, v)
	}
	var err error
	buf := getCopyBuffer()
	for start := 0; start < len(v.IDs) && err == nil; start += copyRows {
		data := invoiceCopyData(buf, account, source, now, v, start, min(start+copyRows, len(v.IDs)))
		err = held.conn.Raw(func(driverConn any) error {
			_, err := driverConn.(*stdlib.Conn).Conn().PgConn().CopyFrom(ctx, bytes.NewReader(data), copyInvoicesSQL)
			return err
		})
	}
	if err == nil { // after some failures pgx may still be reading the buffer
		putCopyBuffer(buf)
	}
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "XX000"):
		return nil, fmt.Errorf("copy invoices: %w: %w", ErrCopyRefused, err)
	case err != nil:
		return nil, fmt.Errorf("copy invoices: %w", err)
	}
	out := make(Written, len(v.IDs))
	for _, id := range v.IDs {
		out[id] = true
	}
	return out, nil
}

// copyRows is the most rows of one COPY statement. PostgreSQL's COPY buffers up to 1000 rows, and
// its backend spent about a fifth more CPU per row on COPYs of 1000 rows than on COPYs of 250
// (README, Performance). perf put the difference in the bookkeeping of tuple slots: the buffered
// rows' slots stay registered with the statement's resource owner while the foreign-key checks
// run, and each check registers and forgets slots of its own among them. Each COPY also costs two
// round trips inside the write transaction; 500 rows gave the best end-to-end rate of 250, 500
// and 1000, at no more CPU for PostgreSQL than 250 (README, Performance).
const copyRows = 500

// invoiceCopyData is rows start to end (exclusive) of v as COPY's binary input, in
// invoiceCopyColumns.
func invoiceCopyData(c *copyBuffer, account, source uuid.UUID, now time.Time, v InvoiceColumns, start, end int) []byte {
	c.start(256 * (end - start))
	for i := start; i < end; i++ {
		c.row(len(invoiceCopyColumns))
		c.uuid(account)
		c.uuid(source)
		c.text(v.IDs[i])
		c.text(v.CustomerIDs[i])
		c.text(v.Types[i])
		c.timestamptz(v.Dates[i])
		c.int8(v.AmountCents[i])
		c.text(v.Currencies[i])
		c.textOrNull(v.PlanIDs[i])
		c.textOrNull(v.SubscriptionIDs[i])
		c.timestamptz(v.StartDates[i])
		c.timestamptz(v.EndDates[i])
		c.int8OrNull(v.Quantities[i])
		c.int8OrNull(v.Discounts[i])
		c.bytes(v.Content[i])
		c.bytes(v.Raw[i])
		c.timestamptz(now)
		c.timestamptz(now)
	}
	return c.end()
}
