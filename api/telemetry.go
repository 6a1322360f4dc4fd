package api

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"invoice-ingest/ingest"
	"invoice-ingest/validation"
)

// observe records every answered request in the Prometheus metrics (when the server has them),
// labelled by the route's template, so ids in paths do not multiply the series.
func (s *Server) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		s.Metrics.Request(route, c.Request.Method, c.Writer.Status(), time.Since(start))
	}
}

// counted wraps a batch function so that the rows it answers are counted by entity and status.
func (s *Server) counted(entity string, batch batchFunc) batchFunc {
	return func(ctx context.Context, account uuid.UUID, rows validation.Rows, opt ingest.Options) ([]ingest.Result, error) {
		res, err := batch(ctx, account, rows, opt)
		if err == nil && s.Metrics != nil {
			counts := make(map[ingest.Status]int, 4)
			for _, r := range res {
				counts[r.Status]++
			}
			for status, n := range counts {
				s.Metrics.Rows(entity, string(status), n)
			}
		}
		return res, err
	}
}
