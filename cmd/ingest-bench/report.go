package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// result is one timed pass.
type result struct {
	method, pass string
	rows         int // rows, or customers for the recalc drain
	dur          time.Duration
	cpu          cpuUse
	note         string
	round        int // 1.. for the passes of -rounds (rounds.go), 0 for those that run once
}

func (r result) rate() float64 { return float64(r.rows) / r.dur.Seconds() }

func (b *bench) add(r result) {
	r.round = b.round
	b.results = append(b.results, r)
	b.log("  %s %s: %d in %.3f s = %.0f/s; CPU s bench/server/pg %.2f / %.2f / %.2f", r.method, r.pass, r.rows, r.dur.Seconds(), r.rate(),
		r.cpu.bench, r.cpu.server, r.cpu.pg)
}

// rate returns the rate of method's pass (its median round), 0 when it did not run.
func (b *bench) rate(method, pass string) float64 {
	if r := b.pass(method, pass); r != nil {
		return r.rate()
	}
	return 0
}

// summary is the last line of stdout: exactly these keys, in this order (the optional ones only
// when their pass ran).
type summary struct {
	CopyRowsPerS         float64 `json:"copy_rows_per_s"`
	RawInsertRowsPerS    float64 `json:"raw_insert_rows_per_s"`
	RawUnchangedRowsPerS float64 `json:"raw_unchanged_rows_per_s"`
	RawUpdateRowsPerS    float64 `json:"raw_update_rows_per_s"`
	GormInsertRowsPerS   float64 `json:"gorm_insert_rows_per_s"`
	E2EInsertRowsPerS    float64 `json:"e2e_insert_rows_per_s"`
	E2EUnchangedRowsPerS float64 `json:"e2e_unchanged_rows_per_s"`
	E2EUpdateRowsPerS    float64 `json:"e2e_update_rows_per_s"`
	RecalcCustomersPerS  float64 `json:"recalc_customers_per_s"`
	// CPU seconds the drain cost the worker process and PostgreSQL: on a busy machine they move
	// far less than its rate does.
	RecalcWorkerCPUS float64 `json:"recalc_worker_cpu_s"`
	RecalcPgCPUS     float64 `json:"recalc_pg_cpu_s"`
	// PostgreSQL CPU seconds of the COPY pass and of the e2e insert pass (same rows).
	CopyPgCPUS      float64 `json:"copy_pg_cpu_s"`
	E2EInsertPgCPUS float64 `json:"e2e_insert_pg_cpu_s"`
	// The three ratios, each the median of the ratios within a round (rounds.go), and how
	// many rounds there were.
	Rounds           int     `json:"rounds"`
	E2EInsertXCopy   float64 `json:"e2e_insert_x_copy"`
	E2EInsertPgXCopy float64 `json:"e2e_insert_pg_cpu_x_copy"`
	E2EUnchangedXRaw float64 `json:"e2e_unchanged_x_raw"`
	// Only when their pass ran (-freshness, -ndjson-rows).
	FreshnessP50Ms float64 `json:"freshness_p50_ms,omitempty"`
	FreshnessP95Ms float64 `json:"freshness_p95_ms,omitempty"`
	NDJSONRowsPerS float64 `json:"ndjson_rows_per_s,omitempty"`
	// The stream against the 4-client insert just before it on the same server (median round).
	NDJSONXInsert float64 `json:"ndjson_x_e2e_insert,omitempty"`
	// Only with -preload: the e2e passes and the drain at that size, and the table's size.
	*preloadedSummary
}

// preloadedSummary is the -preload part of the JSON line.
type preloadedSummary struct {
	E2EInsertRowsPerS    float64 `json:"e2e_insert_rows_per_s_preloaded"`
	E2EUnchangedRowsPerS float64 `json:"e2e_unchanged_rows_per_s_preloaded"`
	E2EUpdateRowsPerS    float64 `json:"e2e_update_rows_per_s_preloaded"`
	RecalcCustomersPerS  float64 `json:"recalc_customers_per_s_preloaded"`
	TableMiBPerM         float64 `json:"invoices_table_mib_per_m_rows_preloaded"`
	IndexesMiBPerM       float64 `json:"invoices_indexes_mib_per_m_rows_preloaded"`
}

// target is one of the issues' targets for the e2e rates.
type target struct {
	pass    string
	against string // "COPY" (its insert pass), "raw" or "GORM" (the same pass)
	factor  float64
}

var targets = []target{
	{"insert", "COPY", 0.8}, {"insert", "raw", 0.6}, {"insert", "GORM", 1.0},
	{"unchanged", "raw", 1.0},
	{"update", "raw", 0.6},
}

// pgCPUTarget is the most PostgreSQL CPU the e2e insert may cost, as a multiple of COPY's.
const pgCPUTarget = 1.15

// Targets that are not ratios.
const (
	recalcTarget     = 5000 // customers/s
	rssTargetMiB     = 64   // added by one 10k-row JSON request
	ndjsonTargetMiB  = 150  // peak over a 1M-row stream
	ndjsonTargetRows = 1_000_000
)

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

// report prints the table, then the JSON line.
func (b *bench) report(stdout io.Writer) error {
	b.reportHeader(stdout)
	if err := b.reportTable(stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	b.reportRounds(stdout)
	b.reportMemory(stdout)
	b.reportPush(stdout)
	if r := b.backfill; r != nil {
		r.report(stdout)
	}
	b.reportPreloaded(stdout)
	if f := b.fresh; f != nil {
		fmt.Fprintf(stdout, "Freshness: write to fresh metrics under %d rows/s of steady load, RECALC_WORKERS=2, %d probes: p50 %.0f ms, p95 %.0f ms, max %.0f ms\n",
			b.cfg.freshnessRate, len(f.delays), f.quantile(0.5), f.quantile(0.95), f.quantile(1))
	}
	if w := b.webhooks; w != nil {
		fmt.Fprintf(stdout, "Webhooks: import.completed, write answer to receiver under %d rows/s of steady load, WEBHOOK_WORKERS=2, %d events (%d not arrived at the end): p50 %.0f ms, p95 %.0f ms, max %.0f ms\n",
			b.cfg.freshnessRate, len(w.delays), b.webhooksMissing, w.quantile(0.5), w.quantile(0.95), w.quantile(1))
	}
	line, err := json.Marshal(b.summary())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", line)
	return err
}

// reportHeader says what each method does with these flags, so a table read later, away from
// the command line, still says what it compares.
func (b *bench) reportHeader(stdout io.Writer) {
	c := b.cfg
	fmt.Fprintf(stdout, "\ningest-bench: %d invoices over %d customers and %d plans; %d-row batches; %d concurrent clients\n",
		c.rows, c.customers, len(plans), c.batch, c.clients)
	for _, l := range []string{
		fmt.Sprintf("COPY: pgx CopyFrom of %d-row chunks on %d connections (no statuses: the ceiling).", c.batch, c.clients),
		fmt.Sprintf("raw: pgx, one INSERT ... SELECT FROM unnest ... ON CONFLICT DO UPDATE WHERE hash differs RETURNING per %d rows, %d connections.", c.batch, c.clients),
		fmt.Sprintf("GORM: CreateInBatches(%d) with OnConflict{UpdateAll}, %d goroutines (no per-row statuses).", c.batch, c.clients),
		fmt.Sprintf("e2e: invoice-ingest serve (child process, RECALC_WORKERS=0), %d HTTP clients posting %d-row JSON arrays; statuses checked.", c.clients, c.batch),
		"Every insert pass starts from an empty invoices table; VACUUM ANALYZE + CHECKPOINT before each pass (untimed).",
		"Server, clients and PostgreSQL share this machine; CPU s = CPU seconds of the pass spent by this process",
		"(clients) / the e2e server / all postgres processes.",
	} {
		fmt.Fprintln(stdout, "  "+l)
	}
	fmt.Fprintln(stdout)
}

// reportTable prints one line per pass (its median round, with the median of its ratios within
// a round), then the recalculation drain, whose unit is customers.
func (b *bench) reportTable(stdout io.Writer) error {
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "method\tpass\trows\tseconds\trows/s\tx COPY\tx raw\tCPU s bench/server/pg\ttarget")
	for _, k := range b.passKeys() {
		r := b.pass(k[0], k[1])
		xraw := "-"
		if b.rate("raw", r.pass) > 0 && r.method != "COPY" {
			xraw = fmt.Sprintf("%.2f", b.ratio(r.method, r.pass, "raw", r.pass, rateOf))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.3f\t%.0f\t%.2f\t%s\t%.2f / %.2f / %.2f\t%s\n", r.method, r.pass, r.rows, r.dur.Seconds(), r.rate(),
			b.ratio(r.method, r.pass, "COPY", "insert", rateOf), xraw, r.cpu.bench, r.cpu.server, r.cpu.pg, strings.Join(b.verdicts(*r), "; "))
	}
	if r := b.recalc; r != nil {
		fmt.Fprintf(tw, "%s\t%s\t%d cust\t%.3f\t%.0f cust/s\t-\t-\t%.2f / %.2f / %.2f\t>= %d/s: %s; %s\n", r.method, r.pass, r.rows, r.dur.Seconds(),
			r.rate(), r.cpu.bench, r.cpu.server, r.cpu.pg, recalcTarget, verdict(r.rate() >= recalcTarget), r.note)
	}
	return tw.Flush()
}

// passKeys are the (method, pass) pairs that ran, in the order they first ran.
func (b *bench) passKeys() [][2]string {
	var keys [][2]string
	for _, r := range b.results {
		if k := [2]string{r.method, r.pass}; !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// verdicts is the target column of r: the e2e targets of its pass, then its note.
func (b *bench) verdicts(r result) []string {
	var tgt []string
	if r.method == "e2e" {
		for _, t := range targets {
			if t.pass != r.pass {
				continue
			}
			basePass := t.pass
			if t.against == "COPY" {
				basePass = "insert"
			}
			x := b.ratio(r.method, r.pass, t.against, basePass, rateOf)
			tgt = append(tgt, fmt.Sprintf(">= %.1f x %s: %s (%.2f)", t.factor, t.against, verdict(x >= t.factor), x))
		}
		if r.pass == "insert" {
			x := b.ratio("e2e", "insert", "COPY", "insert", pgCPUOf)
			tgt = append(tgt, fmt.Sprintf("PG CPU <= %.2f x COPY's: %s (%.2f)", pgCPUTarget, verdict(x <= pgCPUTarget), x))
		}
	}
	if r.note != "" {
		tgt = append(tgt, r.note)
	}
	return tgt
}

// reportMemory prints the RSS and NDJSON lines of the passes that ran. The NDJSON target is
// judged only on a stream as long as the one it is set for.
func (b *bench) reportMemory(stdout io.Writer) {
	if m := b.rss; m != nil {
		delta := m.after - m.before
		fmt.Fprintf(stdout, "RSS: one %d-row JSON request to a fresh, warmed-up server: peak RSS %.1f -> %.1f MiB, +%.1f MiB (target < %d MiB: %s)\n",
			rssRows, m.before, m.after, delta, rssTargetMiB, verdict(delta < rssTargetMiB))
	}
	if m := b.ndjson; m != nil {
		tgt := fmt.Sprintf("target < %d MiB for %d rows", ndjsonTargetMiB, ndjsonTargetRows)
		if m.rows >= ndjsonTargetRows {
			tgt += ": " + verdict(m.peak < ndjsonTargetMiB)
		}
		med := m.median()
		fmt.Fprintf(stdout, "NDJSON: one stream of %d rows to a fresh server, %d rounds: %.0f rows/s in %.3f s (%.2f x the same server's %d-client insert of %d rows just before it, target >= 0.9; %.2f x the e2e rounds' insert; %.2f x raw insert); CPU s bench/server/pg %.2f / %.2f / %.2f; server peak RSS %.1f MiB (%.1f after warm-up; %s)\n",
			m.rows, len(m.rounds), med.stream.rate(), med.stream.dur.Seconds(), med.ratio(), b.cfg.clients, med.insert.rows,
			med.stream.rate()/b.rate("e2e", "insert"), med.stream.rate()/b.rate("raw", "insert"),
			med.stream.cpu.bench, med.stream.cpu.server, med.stream.cpu.pg, m.peak, m.before, tgt)
		for i, r := range m.rounds {
			fmt.Fprintf(stdout, "  stream round %d: %.0f rows/s, %.2f x the insert before it (%.0f rows/s); PostgreSQL CPU %.2f s per 100,000 rows against %.2f\n",
				i+1, r.stream.rate(), r.ratio(), r.insert.rate(), r.stream.cpu.pg*1e5/float64(r.stream.rows), r.insert.cpu.pg*1e5/float64(r.insert.rows))
		}
	}
}

// summary is the JSON line's figures; a pass that did not run is 0.
func (b *bench) summary() summary {
	s := summary{
		CopyRowsPerS:         round(b.rate("COPY", "insert")),
		RawInsertRowsPerS:    round(b.rate("raw", "insert")),
		RawUnchangedRowsPerS: round(b.rate("raw", "unchanged")),
		RawUpdateRowsPerS:    round(b.rate("raw", "update")),
		GormInsertRowsPerS:   round(b.rate("GORM", "insert")),
		E2EInsertRowsPerS:    round(b.rate("e2e", "insert")),
		E2EUnchangedRowsPerS: round(b.rate("e2e", "unchanged")),
		E2EUpdateRowsPerS:    round(b.rate("e2e", "update")),
	}
	if b.recalc != nil {
		s.RecalcCustomersPerS = round(b.recalc.rate())
		s.RecalcWorkerCPUS, s.RecalcPgCPUS = round2(b.recalc.cpu.server), round2(b.recalc.cpu.pg)
	}
	if r := b.pass("COPY", "insert"); r != nil {
		s.CopyPgCPUS = round2(r.cpu.pg)
	}
	if r := b.pass("e2e", "insert"); r != nil {
		s.E2EInsertPgCPUS = round2(r.cpu.pg)
	}
	s.Rounds = b.cfg.rounds
	s.E2EInsertXCopy = round2(b.ratio("e2e", "insert", "COPY", "insert", rateOf))
	s.E2EInsertPgXCopy = round2(b.ratio("e2e", "insert", "COPY", "insert", pgCPUOf))
	s.E2EUnchangedXRaw = round2(b.ratio("e2e", "unchanged", "raw", "unchanged", rateOf))
	if f := b.fresh; f != nil && len(f.delays) > 0 {
		s.FreshnessP50Ms, s.FreshnessP95Ms = round(f.quantile(0.5)), round(f.quantile(0.95))
	}
	if m := b.ndjson; m != nil {
		med := m.median()
		s.NDJSONRowsPerS, s.NDJSONXInsert = round(med.stream.rate()), round2(med.ratio())
	}
	if p := b.pre; p != nil && p.drain != nil {
		perM := float64(p.totalRows) / 1e6
		s.preloadedSummary = &preloadedSummary{
			E2EInsertRowsPerS:    round(b.rate("e2e@preload", "insert")),
			E2EUnchangedRowsPerS: round(b.rate("e2e@preload", "unchanged")),
			E2EUpdateRowsPerS:    round(b.rate("e2e@preload", "update")),
			RecalcCustomersPerS:  round(p.drain.rate()),
			TableMiBPerM:         round(p.tableMiB / perM),
			IndexesMiBPerM:       round(p.indexesMiB() / perM),
		}
	}
	return s
}

// round keeps one decimal: the figures are noisy well before that.
func round(x float64) float64 { return math.Round(x*10) / 10 }

// round2 keeps two decimals, for CPU seconds of a small run.
func round2(x float64) float64 { return math.Round(x*100) / 100 }
