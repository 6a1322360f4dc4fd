package api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"invoice-ingest/models"
)

// readyTimeout bounds one readiness probe; readyCacheFor is how long its answer is reused.
const (
	readyTimeout  = 2 * time.Second
	readyCacheFor = time.Second
)

// healthz answers while the process is alive.
func (s *Server) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

// readyz answers 200 when the database answers within readyTimeout, else 503 with Retry-After,
// and 503 too once the server is stopping, so that load balancers send elsewhere.
func (s *Server) readyz(c *gin.Context) {
	if s.stopping() || !s.ready.check(s.DB) {
		c.Header("Retry-After", retryAfterSeconds)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// stopping reports whether the server was told to stop (Server.Stopping).
func (s *Server) stopping() bool {
	select {
	case <-s.Stopping:
		return true
	default:
		return false
	}
}

// Close releases what the server holds of its own (the readiness probe's connection). The
// handlers must be done: call it after http.Server.Shutdown or Close.
func (s *Server) Close() { s.ready.close() }

// readiness is /readyz's probe. It asks the database on a connection of its own, outside the
// pool, so that a pool whose connections are all busy does not make a working server look down;
// one probe runs at a time, and its answer is reused for readyCacheFor, so a flood of /readyz
// costs at most one round trip a second.
type readiness struct {
	mu     sync.Mutex // held by the probe running
	conn   *pgx.Conn
	config *pgx.ConnConfig // the pool's, taken from one of its connections once

	lastMu   sync.Mutex
	ok       bool
	at       time.Time     // of the last answer; zero: none yet
	cacheFor time.Duration // how long an answer is reused; 0: readyCacheFor (tests shorten it)
}

// check returns the last answer while it is fresh, or while another probe runs; else it probes.
func (r *readiness) check(db *models.DB) bool {
	ok, at := r.last()
	if r.fresh(at) {
		return ok
	}
	if !r.mu.TryLock() {
		if !at.IsZero() {
			return ok
		}
		r.mu.Lock() // the first probes wait for the first answer
	}
	defer r.mu.Unlock()
	if ok, at := r.last(); r.fresh(at) {
		return ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	ok = r.probe(ctx, db) == nil
	r.lastMu.Lock()
	r.ok, r.at = ok, time.Now()
	r.lastMu.Unlock()
	return ok
}

// fresh reports whether an answer given at at may still be reused.
func (r *readiness) fresh(at time.Time) bool {
	maxAge := r.cacheFor
	if maxAge == 0 {
		maxAge = readyCacheFor
	}
	return !at.IsZero() && time.Since(at) < maxAge
}

func (r *readiness) last() (bool, time.Time) {
	r.lastMu.Lock()
	defer r.lastMu.Unlock()
	return r.ok, r.at
}

// probe pings the database on the probe's connection, connecting first when it has none.
func (r *readiness) probe(ctx context.Context, db *models.DB) error {
	if r.conn == nil || r.conn.IsClosed() {
		if err := r.poolConfig(ctx, db); err != nil {
			return err
		}
		conn, err := pgx.ConnectConfig(ctx, r.config)
		if err != nil {
			return err
		}
		r.conn = conn
	}
	if err := r.conn.Ping(ctx); err != nil {
		r.closeConn()
		return err
	}
	return nil
}

// poolConfig learns, once, how the pool connects: where, as whom, with which settings.
func (r *readiness) poolConfig(ctx context.Context, db *models.DB) error {
	if r.config != nil {
		return nil
	}
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("readiness: the pool's connections are not pgx's")
		}
		r.config = c.Conn().Config()
		r.config.Tracer = nil // probes are not statements worth logging
		return nil
	})
}

func (r *readiness) closeConn() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = r.conn.Close(ctx)
	r.conn = nil
}

func (r *readiness) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != nil {
		r.closeConn()
	}
}
