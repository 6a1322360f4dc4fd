package recalc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"
)

// maxErrorLen bounds last_error: enough to diagnose, small enough that a queue full of failures
// stays cheap to scan.
const maxErrorLen = 1000

// failSQL records a failed attempt and schedules the next one: attempts + 1, the error, and run_at
// pushed back from $7 (the database's clock, see Pool.dbNow) by 1 s × 2^(previous attempts), capped
// at $6 microseconds, minus up to 10% jitter ($4's companion array, drawn in Go) so customers that
// failed together (a database hiccup) do not all come back in the same instant. The row is
// released, not dropped: a failing customer is retried forever, and stays visible. Time and jitter
// come as parameters: Citus refuses now() and random() beside columns in an UPDATE, and any STABLE
// function with a column argument, such as timestamptz + interval; seconds since the epoch and
// to_timestamp (IMMUTABLE) do the same sum.
var failSQL = `
UPDATE recalc_queue q
SET attempts = q.attempts + 1,
    last_error = c.x1,
    run_at = to_timestamp(extract(epoch FROM $7::timestamptz) +
                          least(power(2, least(q.attempts, 30)), $6::bigint / 1e6) * (1 - 0.1 * c.x2)),
    locked_until = NULL, locked_by = NULL, updated_at = $7::timestamptz
FROM ` + keysFrom("c", "$4::text[]", "$8::float8[]") + `
WHERE ` + sameKey("q", "c") + ` AND ` + heldBy("q", "$5")

// markFailed records failures of keys (errs[i] for keys[i]) held by claim token, inside tx, whose
// rows the caller has locked with lockOwned.
func (p *Pool) markFailed(ctx context.Context, tx *gorm.DB, token string, keys []CustomerKey, errs []string) error {
	msgs := make([]string, len(errs))
	jitter := make([]float64, len(errs))
	for i, e := range errs {
		msgs[i] = truncate(e, maxErrorLen)
		jitter[i] = rand.Float64()
	}
	args := keyArgs(keys, msgs, holder(token), p.cfg.MaxBackoff.Microseconds(), p.dbNow(), jitter)
	if err := tx.WithContext(ctx).Exec(failSQL, args...).Error; err != nil {
		return fmt.Errorf("record failed recalculations: %w", err)
	}
	return nil
}

// fail records cause as the failure of every item, in its own transaction.
func (p *Pool) fail(ctx context.Context, token string, items []item, cause error) error {
	err := p.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.WithContext(ctx).Exec(indexesOnly).Error; err != nil { // lockOwned is prepared
			return err
		}
		if _, err := lockOwned(ctx, tx, token, items); err != nil {
			return err
		}
		errs := make([]string, len(items))
		for i := range errs {
			errs[i] = cause.Error()
		}
		return p.markFailed(ctx, tx, token, keysOf(items), errs)
	})
	if err != nil {
		return fmt.Errorf("record failure: %w", err)
	}
	for _, it := range items {
		p.logFailed(it.key, cause)
	}
	if p.cfg.Finished != nil {
		p.cfg.Finished(0, len(items))
	}
	return nil
}

// logFailed tells whoever watches the logs that key's recalculation failed with err; the queue row
// records it too, but nobody reads the queue unprompted.
func (p *Pool) logFailed(key CustomerKey, err any) {
	p.cfg.Log.Warn("recalc: customer failed", "account", key.AccountID, "source", key.SourceID,
		"customer", key.CustomerID, "err", err)
}

// truncate cuts s to at most n bytes of valid UTF-8 without NUL bytes, which PostgreSQL text
// rejects, never splitting a character.
func truncate(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
