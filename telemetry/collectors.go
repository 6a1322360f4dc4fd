package telemetry

import (
	"context"
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// QueueFigures is what a scrape asks of the recalculation queue: customers waiting (queued or
// named by unfolded writes) and the age of the oldest pending one.
type QueueFigures func(ctx context.Context) (depth int64, oldest time.Duration, err error)

// scrapeTimeout bounds the queue query of one scrape: a slow database must not hang the scraper.
const scrapeTimeout = 2 * time.Second

// WatchQueue registers the queue gauges, read through figures at each scrape. A scrape during a
// database outage leaves them out rather than failing the whole scrape.
func (m *Metrics) WatchQueue(figures QueueFigures) {
	m.Registry.MustRegister(&queueCollector{figures: figures,
		depth: prometheus.NewDesc(namespace+"_recalc_queue_depth",
			"Customers waiting for a recalculation: queued, or named by a write not yet folded into the queue.", nil, nil),
		oldest: prometheus.NewDesc(namespace+"_recalc_oldest_pending_seconds",
			"Age of the oldest pending recalculation (0 when none).", nil, nil),
	})
}

type queueCollector struct {
	figures       QueueFigures
	depth, oldest *prometheus.Desc
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.depth; ch <- c.oldest }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	depth, oldest, err := c.figures(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(depth))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, oldest.Seconds())
}

// WatchPool registers invoice_ingest_db_connections{state}: the pool's connections in use, idle,
// and the most it may open.
func (m *Metrics) WatchPool(db *sql.DB) {
	m.Registry.MustRegister(&poolCollector{db: db, desc: prometheus.NewDesc(namespace+"_db_connections",
		"Database connections of this process's pool, by state (in_use, idle, max_open).", []string{"state"}, nil)})
}

type poolCollector struct {
	db   *sql.DB
	desc *prometheus.Desc
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.db.Stats()
	for state, n := range map[string]int{"in_use": s.InUse, "idle": s.Idle, "max_open": s.MaxOpenConnections} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), state)
	}
}
