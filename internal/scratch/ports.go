package scratch

import (
	"errors"
	"net"
)

// ErrExitedEarly is a child server's exit before it was ready: the start function given to
// OnFreePort wraps it so that another port is tried.
var ErrExitedEarly = errors.New("server exited before it was ready")

// startAttempts is how many free ports OnFreePort tries.
const startAttempts = 3

// OnFreePort calls start with a free loopback address (picked, then closed, for a child to bind)
// until start returns anything but ErrExitedEarly, at most startAttempts times: another process
// may take the port between the pick and the child's bind (see Listening), and the child then
// exits.
func OnFreePort[T any](start func(addr string) (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			var zero T
			return zero, err
		}
		addr := ln.Addr().String()
		ln.Close()
		v, err := start(addr)
		if !errors.Is(err, ErrExitedEarly) || attempt == startAttempts {
			return v, err
		}
	}
}
