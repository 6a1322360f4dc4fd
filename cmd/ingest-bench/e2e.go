package main

import (
	"context"
	"errors"
	"fmt"
)

// runE2E measures the service: -clients goroutines post pre-encoded -batch-row JSON arrays
// (all bodies encoded before the clock starts; one http.Client with enough idle connections)
// and check every answer. Insert into the empty table, re-send the identical bodies
// (unchanged), then the changed rows (update).
func (b *bench) runE2E(ctx context.Context, srv *server, rows, changed []invoice) error {
	if err := b.reset(ctx); err != nil {
		return err
	}
	return b.e2ePasses(ctx, srv, "e2e", rows, changed)
}

// e2ePasses runs the three e2e passes as method, on whatever invoices holds (it counts what the
// insert pass added).
func (b *bench) e2ePasses(ctx context.Context, srv *server, method string, rows, changed []invoice) error {
	var before int
	if err := b.pool.QueryRow(ctx, "SELECT count(*) FROM invoices").Scan(&before); err != nil {
		return err
	}
	parts := batches(len(rows), b.cfg.batch)
	encode := func(rows []invoice) [][]byte {
		out := make([][]byte, len(parts))
		for i, p := range parts {
			out[i] = jsonArray(rows[p[0]:p[1]], "bench")
		}
		return out
	}
	insertBodies, updateBodies := encode(rows), encode(changed)
	for i, p := range []struct {
		pass, want string
		rows       []invoice
		bodies     [][]byte
	}{
		{"insert", "inserted", rows, insertBodies},
		{"unchanged", "unchanged", rows, insertBodies},
		{"update", "updated", changed, updateBodies},
	} {
		if i > 0 {
			if err := b.settle(ctx); err != nil {
				return err
			}
		}
		b.log("%s: %s pass, %d rows in %d requests", method, p.pass, len(p.rows), len(parts))
		d, cpu, err := b.timePass(func() error {
			return parallel(ctx, b.cfg.clients, len(parts), func(ctx context.Context, i int) error {
				part := p.rows[parts[i][0]:parts[i][1]]
				return srv.postChecked(ctx, "/data/invoices", p.bodies[i], part, len(part), p.want)
			})
		})
		if err != nil {
			if done, xerr := srv.exited(); done {
				err = errors.Join(err, fmt.Errorf("server exited: %v", xerr))
			}
			return err
		}
		b.add(result{method: method, pass: p.pass, rows: len(p.rows), dur: d, cpu: cpu})
		if p.pass == "insert" {
			if err := b.countInvoices(ctx, before+len(rows)); err != nil {
				return err
			}
		}
	}
	return nil
}
