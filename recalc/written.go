package recalc

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Written is what a write-back changed that others may record in its transaction
// (Config.Written): the customers whose current MRR moved, and the imports some of whose
// customers it caught up.
type Written struct {
	At      time.Time   // the calculation instant of the metrics written
	MRR     []MRRChange // in the order of the batch
	Imports []ImportRef // each once
}

// MRRChange is a customer's current MRR in one currency before and after a write-back.
// Movement classifies it as the monthly history does: new, reactivation (the customer's stored
// status was churned: it had MRR before), expansion, contraction or churn.
type MRRChange struct {
	Key           CustomerKey
	Currency      string
	Previous, MRR int64
	Movement      string
}

// ImportRef names an import.
type ImportRef struct {
	AccountID, ImportID uuid.UUID
}

// currentMRR is a customer's stored metrics row, as far as MRR goes.
type currentMRR struct {
	mrr     int64
	churned bool
}

// mrrKey is a customer and currency.
type mrrKey struct {
	key      CustomerKey
	currency string
}

var previousMRRSQL = `
SELECT $1::uuid, t.source_id, t.customer_id, t.currency, t.mrr_cents, t.status = 'churned'` +
	storedRowsSQL(keysFrom("c"), "customer_metrics", "t.*", "")

// previousMRR reads the stored MRR of keys (whose queue rows this write-back holds, so no other
// write-back changes them meanwhile), before they are replaced.
func previousMRR(ctx context.Context, tx *gorm.DB, keys []CustomerKey) (map[mrrKey]currentMRR, error) {
	out := map[mrrKey]currentMRR{}
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := tx.WithContext(ctx).Raw(previousMRRSQL, keyArgs(keys)...).Rows()
	if err != nil {
		return nil, fmt.Errorf("read previous MRR: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k mrrKey
		var c currentMRR
		if err := rows.Scan(&k.key.AccountID, &k.key.SourceID, &k.key.CustomerID, &k.currency, &c.mrr, &c.churned); err != nil {
			return nil, fmt.Errorf("scan previous MRR: %w", err)
		}
		out[k] = c
	}
	return out, rows.Err()
}

// mrrChanges compares the metrics w writes with what they replace.
func (w *writeBack) mrrChanges(prev map[mrrKey]currentMRR) []MRRChange {
	var out []MRRChange
	m := &w.metrics
	for i := range m.customers {
		k := mrrKey{CustomerKey{AccountID: m.account, SourceID: m.sources[i], CustomerID: m.customers[i]}, m.currencies[i]}
		p := prev[k]
		delete(prev, k)
		if p.mrr != m.mrr[i] {
			out = append(out, MRRChange{Key: k.key, Currency: k.currency, Previous: p.mrr, MRR: m.mrr[i], Movement: movement(p.mrr, m.mrr[i], p.churned)})
		}
	}
	for k, p := range prev { // a currency the customer no longer has: its MRR is 0
		if p.mrr != 0 {
			out = append(out, MRRChange{Key: k.key, Currency: k.currency, Previous: p.mrr, Movement: MovementChurn})
		}
	}
	return out
}

var finishedImportsSQL = `
SELECT DISTINCT $1::uuid, i.import_id` +
	storedRowsSQL(keysFrom("c", "$4::bigint[]"), "recalc_queue", "t.import_ids",
		" AND t.version = c.x1 AND "+heldBy("t", "$5")) + `,
    unnest(t.import_ids) AS i(import_id)`

// finishedImports returns the imports carried by the queue rows w finishes: those whose
// pending this write-back lowers. Read before settleQueue deletes the rows.
func (w *writeBack) finishedImports(ctx context.Context, tx *gorm.DB, token string) ([]ImportRef, error) {
	if len(w.finished) == 0 {
		return nil, nil
	}
	rows, err := tx.WithContext(ctx).Raw(finishedImportsSQL, keyArgs(w.finished, w.finishedVersions, holder(token))...).Rows()
	if err != nil {
		return nil, fmt.Errorf("read finished imports: %w", err)
	}
	defer rows.Close()
	var out []ImportRef
	for rows.Next() {
		var r ImportRef
		if err := rows.Scan(&r.AccountID, &r.ImportID); err != nil {
			return nil, fmt.Errorf("scan finished import: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// pendingWritten is what a write-back reads for Config.Written before it changes anything.
type pendingWritten struct {
	prev    map[mrrKey]currentMRR
	imports []ImportRef
}

// beforeWrite reads, when Config.Written is set, what w is about to replace; nil otherwise.
func (p *Pool) beforeWrite(ctx context.Context, tx *gorm.DB, w *writeBack, token string) (*pendingWritten, error) {
	if p.cfg.Written == nil || len(w.written)+len(w.finished) == 0 {
		return nil, nil
	}
	if p.cfg.Watched != nil {
		account := w.account() // one account per write-back
		if watched, err := p.cfg.Watched(ctx, tx, account); err != nil || !watched {
			return nil, err
		}
	}
	prev, err := previousMRR(ctx, tx, w.written)
	if err != nil {
		return nil, err
	}
	imports, err := w.finishedImports(ctx, tx, token)
	return &pendingWritten{prev: prev, imports: imports}, err
}

// afterWrite tells Config.Written, in the write-back's transaction, what w changed.
func (p *Pool) afterWrite(ctx context.Context, tx *gorm.DB, w *writeBack, pw *pendingWritten, t time.Time) error {
	if pw == nil {
		return nil
	}
	return p.cfg.Written(ctx, tx, Written{At: t, MRR: w.mrrChanges(pw.prev), Imports: pw.imports})
}

// account is the account of w's customers (a write-back holds one account's).
func (w *writeBack) account() uuid.UUID {
	if len(w.written) > 0 {
		return w.written[0].AccountID
	}
	return w.finished[0].AccountID
}
