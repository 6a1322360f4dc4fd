package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// healthcheck asks HTTP_ADDR's /readyz: 200 is healthy, anything else (or nothing) is not.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	var status atomic.Int32 // the handler runs on the server's goroutines
	var path atomic.Value
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path.Store(r.URL.Path)
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	check := func(args ...string) error {
		return run(t.Context(), append([]string{"healthcheck"}, args...), func(k string) (string, bool) {
			v, ok := map[string]string{"HTTP_ADDR": addr, "DATABASE_URL": "postgres://127.0.0.1:1/never"}[k]
			return v, ok
		}, &strings.Builder{}, &strings.Builder{})
	}
	require.NoError(t, check())
	require.Equal(t, "/readyz", path.Load())

	status.Store(http.StatusServiceUnavailable)
	err := check()
	require.EqualError(t, err, "healthcheck: GET http://"+addr+"/readyz answered 503 Service Unavailable")
	require.Equal(t, 1, exitCode(err, &strings.Builder{}))

	srv.Close()
	err = check("--addr", addr)
	require.ErrorContains(t, err, "healthcheck: GET http://"+addr+"/readyz: ")
	require.NotContains(t, err.Error(), "\n")
}

func TestHealthcheckTimeout(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	start := time.Now()
	err := run(t.Context(), []string{"healthcheck", "--addr", strings.TrimPrefix(srv.URL, "http://"), "--timeout", "100ms"},
		func(string) (string, bool) { return "", false }, &strings.Builder{}, &strings.Builder{})
	require.ErrorContains(t, err, "deadline exceeded")
	require.Less(t, time.Since(start), 3*time.Second)
}

// A service listening on every address is asked on loopback.
func TestReadyzURL(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080/readyz",
		"0.0.0.0:8080":   "http://127.0.0.1:8080/readyz",
		":8080":          "http://127.0.0.1:8080/readyz",
		"[::]:9000":      "http://[::1]:9000/readyz",
		"[::1]:9000":     "http://[::1]:9000/readyz",
		"api.local:80":   "http://api.local:80/readyz",
	} {
		got, err := readyzURL(addr)
		require.NoError(t, err)
		require.Equal(t, want, got, addr)
	}
	_, err := readyzURL("8080")
	require.Error(t, err)
}
