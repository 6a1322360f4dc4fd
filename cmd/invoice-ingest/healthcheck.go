package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"time"

	"invoice-ingest/config"
)

// healthcheckCommand is `invoice-ingest healthcheck`: what the container image's HEALTHCHECK
// runs, since a distroless image has no curl. It needs no database, only the service's
// /readyz, which answers 200 when the service reaches its database.
func healthcheckCommand(ctx context.Context, args []string, e env) error {
	fs := newFlags("healthcheck", "[--addr HOST:PORT] [--timeout 3s]", `Ask the service at HTTP_ADDR (or --addr) for /readyz and exit 0 when it answers 200 OK,
else print one line and exit 1. A wildcard listen address (0.0.0.0, [::]) is asked on the
loopback address (127.0.0.1, [::1]). Needs no database; this is the container's HEALTHCHECK.`)
	addr := fs.String("addr", "", "address of the service (default HTTP_ADDR, else 127.0.0.1:8080)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.noArgs(args, e.stdout); err != nil {
		return err
	}
	if *timeout <= 0 {
		return fs.fail("--timeout must be positive")
	}
	if *addr == "" {
		cfg, err := config.Load(e.lookup)
		if err != nil {
			return err
		}
		*addr = cfg.HTTPAddr
	}
	url, err := readyzURL(*addr)
	if err != nil {
		return fs.fail("%v", err)
	}
	return checkReady(ctx, url, *timeout)
}

// readyzURL is the /readyz URL of a service listening on addr; a wildcard host is asked on
// loopback, where a service listening on every address answers too.
func readyzURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address must be host:port (got %q)", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

// checkReady GETs url and returns nil when it answers 200 within timeout.
func checkReady(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	// No proxy: the service is local, and a proxy from the environment must not answer for it.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	res, err := client.Do(req)
	var uerr *neturl.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // without the URL and method, which the line below names once
	}
	if err != nil {
		return fmt.Errorf("healthcheck: GET %s: %w", url, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s answered %s", url, res.Status)
	}
	return nil
}
