package telemetry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every metric of ours.
const namespace = "invoice_ingest"

// Metrics are the service's metrics, registered in their own registry (not the global one, so
// tests and several servers in one process do not collide).
type Metrics struct {
	Registry *prometheus.Registry

	httpRequests      *prometheus.CounterVec
	httpDuration      *prometheus.HistogramVec
	rows              *prometheus.CounterVec
	rateLimited       *prometheus.CounterVec
	recalcCustomers   *prometheus.CounterVec
	webhookDeliveries *prometheus.CounterVec
}

// New registers the metrics and the Go and process collectors in a new registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace,
			Name: "http_requests_total", Help: "HTTP requests answered, by route template, method and status code."},
			[]string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace,
			Name: "http_request_duration_seconds", Help: "Time from a request's arrival to its last byte answered, by route template and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}},
			[]string{"route", "method"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace,
			Name: "rows_total", Help: "Rows answered by the write routes, by entity and import status (dry runs included)."},
			[]string{"entity", "status"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace,
			Name: "rate_limited_total", Help: "Requests refused by a limit, by bucket."},
			[]string{"bucket"}),
		recalcCustomers: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace,
			Name: "recalc_customers_total", Help: "Customer recalculations finished by this process's workers, by result."},
			[]string{"result"}),
		webhookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace,
			Name: "webhook_deliveries_total", Help: "Webhook delivery attempts, by result."},
			[]string{"result"}),
	}
	// Series whose labels are known up front start at zero, so dashboards and alerts see them
	// before the first event.
	for _, bucket := range []string{"writes", "reads", "streams", "inflight", "auth"} {
		m.rateLimited.WithLabelValues(bucket)
	}
	for _, result := range []string{"ok", "failed"} {
		m.recalcCustomers.WithLabelValues(result)
	}
	for _, result := range []string{"delivered", "retried", "failed"} {
		m.webhookDeliveries.WithLabelValues(result)
	}
	m.Registry.MustRegister(m.httpRequests, m.httpDuration, m.rows, m.rateLimited, m.recalcCustomers,
		m.webhookDeliveries, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Request records one answered HTTP request. route is the router's template ("/data/invoices/:id"),
// never the raw path, so ids do not multiply the series.
func (m *Metrics) Request(route, method string, code int, took time.Duration) {
	if m == nil {
		return
	}
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(took.Seconds())
}

// Rows records n rows of entity answered with status.
func (m *Metrics) Rows(entity, status string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.rows.WithLabelValues(entity, status).Add(float64(n))
}

// RateLimited records a request refused by the limit named bucket.
func (m *Metrics) RateLimited(bucket string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(bucket).Inc()
}

// RecalcCustomers records n customers whose recalculation ended with result ("ok", "failed").
func (m *Metrics) RecalcCustomers(result string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.recalcCustomers.WithLabelValues(result).Add(float64(n))
}

// WebhookDelivery records one webhook delivery attempt and its result.
func (m *Metrics) WebhookDelivery(result string) {
	if m == nil {
		return
	}
	m.webhookDeliveries.WithLabelValues(result).Inc()
}
