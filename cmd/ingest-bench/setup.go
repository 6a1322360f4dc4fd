package main

import (
	"context"
	"fmt"
)

// setup creates the account with the binary's own command, starts the e2e server and puts the
// data source, customers and plans in through the API.
func (b *bench) setup(ctx context.Context) (*server, error) {
	acc, err := b.createAccount(ctx)
	if err != nil {
		return nil, err
	}
	b.account, b.apiKey = acc.id, acc.key
	b.log("starting the e2e server (RECALC_WORKERS=0)")
	srv, err := b.startServer(ctx)
	if err != nil {
		return nil, err
	}
	if b.source, err = srv.createSource(ctx, "bench"); err != nil {
		srv.stop()
		return nil, err
	}
	var customers, plansBody [][]byte
	for c := range b.cfg.customers {
		customers = append(customers, customerJSON(c, "bench"))
	}
	for _, p := range plans {
		plansBody = append(plansBody, planJSON(p, "bench"))
	}
	for _, step := range []struct {
		path string
		rows [][]byte
	}{{"/data/customers", customers}, {"/data/plans", plansBody}} {
		for _, r := range batches(len(step.rows), 1000) {
			body := joinArray(step.rows[r[0]:r[1]])
			if err := srv.postChecked(ctx, step.path, body, nil, r[1]-r[0], "inserted"); err != nil {
				srv.stop()
				return nil, fmt.Errorf("%s: %w", step.path, err)
			}
		}
	}
	b.log("account, data source, %d customers and %d plans in place", b.cfg.customers, len(plans))
	// Statistics for the reference tables, so every method plans its FK and lookup queries alike.
	if _, err := b.pool.Exec(ctx, "ANALYZE customers, plans, data_sources"); err != nil {
		srv.stop()
		return nil, err
	}
	return srv, nil
}
