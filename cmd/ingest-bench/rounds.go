package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Rounds: COPY, raw and e2e run -rounds times, back to back (round 1: COPY, raw, e2e; round 2:
// the same; ...). A shared VM's speed can move by a third within minutes, so a ratio of two
// passes run a minute apart measures the machine as much as the code. Each round's ratios
// compare passes run seconds apart; the table and the JSON line give their median, and the rates
// are each pass's median round.

// roundMethods are the methods that run once per round.
var roundMethods = []string{"COPY", "raw", "e2e"}

// runRounds runs -rounds rounds of COPY, raw and e2e on the same rows.
func (b *bench) runRounds(ctx context.Context, srv *server, rows, changed []invoice) error {
	for r := 1; r <= b.cfg.rounds; r++ {
		b.round = r
		if b.cfg.rounds > 1 {
			b.log("round %d of %d", r, b.cfg.rounds)
		}
		if err := b.runCopy(ctx, rows); err != nil {
			return fmt.Errorf("COPY: %w", err)
		}
		if err := b.runRaw(ctx, rows, changed); err != nil {
			return fmt.Errorf("raw: %w", err)
		}
		if err := b.runE2E(ctx, srv, rows, changed); err != nil {
			return fmt.Errorf("e2e: %w", err)
		}
	}
	b.round = 0
	return nil
}

// passes returns every round of method's pass, in run order.
func (b *bench) passes(method, pass string) []*result {
	var out []*result
	for i := range b.results {
		if r := &b.results[i]; r.method == method && r.pass == pass {
			out = append(out, r)
		}
	}
	return out
}

// pass returns method's pass, its median round by rate when it ran more than once (the lower of
// the middle two for an even count), nil when it did not run.
func (b *bench) pass(method, pass string) *result {
	all := b.passes(method, pass)
	if len(all) == 0 {
		return nil
	}
	slices.SortStableFunc(all, func(x, y *result) int { return cmp.Compare(x.rate(), y.rate()) })
	return all[(len(all)-1)/2]
}

// ratio is method's pass against another pass: the median over the rounds both ran in of the
// ratio within the round, or the ratio of the two median rounds when they share no round (GORM,
// which runs once, before the rounds). f picks the figure compared: a rate or a CPU time.
func (b *bench) ratio(method, pass, against, againstPass string, f func(*result) float64) float64 {
	var per []float64
	for _, r := range b.passes(method, pass) {
		if a := b.inRound(against, againstPass, r.round); a != nil && f(a) > 0 {
			per = append(per, f(r)/f(a))
		}
	}
	if len(per) == 0 {
		r, a := b.pass(method, pass), b.pass(against, againstPass)
		if r == nil || a == nil || f(a) == 0 {
			return 0
		}
		return f(r) / f(a)
	}
	slices.Sort(per)
	return per[(len(per)-1)/2]
}

// inRound returns method's pass of round (1..), nil when it did not run in that round.
func (b *bench) inRound(method, pass string, round int) *result {
	for _, r := range b.passes(method, pass) {
		if round > 0 && r.round == round {
			return r
		}
	}
	return nil
}

func rateOf(r *result) float64  { return r.rate() }
func pgCPUOf(r *result) float64 { return r.cpu.pg }

// reportRounds prints each round's ratios, so that the spread behind the medians is in the
// output too.
func (b *bench) reportRounds(stdout io.Writer) {
	if b.cfg.rounds < 2 {
		return
	}
	fmt.Fprintf(stdout, "Rounds (%s back to back; each ratio within its round; the table shows their medians):\n", strings.Join(roundMethods, ", "))
	for round := 1; round <= b.cfg.rounds; round++ {
		copyIns, rawUnch := b.inRound("COPY", "insert", round), b.inRound("raw", "unchanged", round)
		e2eIns, e2eUnch := b.inRound("e2e", "insert", round), b.inRound("e2e", "unchanged", round)
		if copyIns == nil || rawUnch == nil || e2eIns == nil || e2eUnch == nil {
			continue
		}
		fmt.Fprintf(stdout, "  round %d: COPY %.0f rows/s; e2e insert %.2f x COPY, PostgreSQL CPU %.2f x COPY's; e2e unchanged %.2f x raw\n",
			round, copyIns.rate(), e2eIns.rate()/copyIns.rate(), e2eIns.cpu.pg/copyIns.cpu.pg, e2eUnch.rate()/rawUnch.rate())
	}
}
