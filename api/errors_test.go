package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
)

func TestWriteError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		err      error
		canceled bool
		status   int
		detail   string
	}{
		{"client error keeps its message", models.Errorf(models.ENOTFOUND, "Invoice x does not exist."), false, 404, "Invoice x does not exist."},
		{"internal error hides its text", errors.New("pq: secret table broke"), false, 500, "Internal error."},
		{"dead connection is unavailable", fmt.Errorf("look up key: %w", context.DeadlineExceeded), false, 503, "The database is unavailable; retry later."},
		{"client went away", fmt.Errorf("query: %w", context.Canceled), true, statusClientClosed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			ctx, cancel := context.WithCancel(context.Background())
			if tc.canceled {
				cancel()
			} else {
				defer cancel()
			}
			c.Request = httptest.NewRequest("GET", "/", nil).WithContext(ctx)
			writeError(c, tc.err)
			require.Equal(t, tc.status, w.Code)
			if tc.detail != "" {
				require.Contains(t, w.Body.String(), `"detail":"`+tc.detail+`"`)
				require.NotContains(t, w.Body.String(), "secret")
			}
			if tc.status == http.StatusServiceUnavailable {
				require.Equal(t, retryAfterSeconds, w.Header().Get("Retry-After"))
			}
		})
	}
}
