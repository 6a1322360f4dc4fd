package scratch

import (
	"net"
	"os"
	"testing"
)

// A process is seen holding a port it listens on, and not once it has closed it: what keeps a
// tool from taking another process's server on its child's port for the child.
func TestListeningSeesWhoHoldsThePort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if !Listening(os.Getpid(), addr) {
		t.Fatalf("this process listens on %s but is not seen holding it", addr)
	}
	if Listening(os.Getppid(), addr) {
		t.Fatalf("the parent process is seen holding %s, which this process listens on", addr)
	}
	ln.Close()
	if Listening(os.Getpid(), addr) {
		t.Fatalf("%s is closed but still seen held", addr)
	}
}
