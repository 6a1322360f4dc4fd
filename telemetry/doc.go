// Package telemetry holds the service's Prometheus metrics (SPEC section 7): one registry per
// process, the metric definitions, the collectors that read the database pool and the
// recalculation queue when scraped, and the handler served on METRICS_ADDR, apart from the API.
//
// Other packages stay free of Prometheus: api records requests, rows and rate limiting through
// Metrics' methods; recalc reports finished customers through a callback that cmd wires to
// Metrics.RecalcCustomers; the queue and pool figures are read at scrape time.
package telemetry
