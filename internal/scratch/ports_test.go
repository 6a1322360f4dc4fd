package scratch

import (
	"errors"
	"fmt"
	"net"
	"testing"
)

// A child that exits early is started again on another free address; one that keeps exiting gives
// up after startAttempts, and any other error ends it at once.
func TestOnFreePortRetriesOnlyAnEarlyExit(t *testing.T) {
	var addrs []string
	got, err := OnFreePort(func(addr string) (string, error) {
		addrs = append(addrs, addr)
		if len(addrs) < 3 {
			return "", fmt.Errorf("%w: exit status 1", ErrExitedEarly)
		}
		return "ready on " + addr, nil
	})
	if err != nil || got != "ready on "+addrs[2] || len(addrs) != 3 {
		t.Fatalf("got %q, %v after %d starts", got, err, len(addrs))
	}
	for _, a := range addrs {
		if host, _, err := net.SplitHostPort(a); err != nil || host != "127.0.0.1" {
			t.Fatalf("address %q is not a loopback host:port", a)
		}
	}

	calls := 0
	_, err = OnFreePort(func(string) (int, error) { calls++; return 0, ErrExitedEarly })
	if !errors.Is(err, ErrExitedEarly) || calls != startAttempts {
		t.Fatalf("always exiting: %v after %d starts, want %d", err, calls, startAttempts)
	}
	other := errors.New("bad flag")
	calls = 0
	_, err = OnFreePort(func(string) (int, error) { calls++; return 0, other })
	if !errors.Is(err, other) || calls != 1 {
		t.Fatalf("another error: %v after %d starts, want 1", err, calls)
	}
}
