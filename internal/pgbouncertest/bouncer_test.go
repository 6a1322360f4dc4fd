package pgbouncertest

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"invoice-ingest/models/dbtest"
)

// bouncer is a running pgbouncer in transaction pooling mode.
type bouncer struct {
	addr   string // host:port it listens on
	server *url.URL
}

// syncBuffer is pgbouncer's log, written by the process and read by a failing test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startBouncer starts pgbouncer in front of the test server and stops it when t ends. Server
// sessions get statement_timeout from connect_query, as docs/database.md advises.
func startBouncer(t *testing.T) *bouncer {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if os.Getenv("PGBOUNCER_REQUIRED") == "1" {
			t.Fatal("pgbouncer is not installed, and PGBOUNCER_REQUIRED=1 (make test as root installs Debian's pgbouncer)")
		}
		t.Skip("pgbouncer is not installed: skipping the PgBouncer tests (apt-get install pgbouncer, or run make test as root)")
	}
	server, err := url.Parse(dbtest.ServerURL())
	require.NoError(t, err, "TEST_DATABASE_URL must be a postgres:// URL for the PgBouncer tests")
	dir := configDir(t)
	port := freePort(t)
	host, pgPort := server.Hostname(), server.Port()
	if pgPort == "" {
		pgPort = "5432"
	}
	userName := server.User.Username()
	password, _ := server.User.Password()
	db := fmt.Sprintf("host=%s port=%s", host, pgPort)
	if password != "" {
		db += " password=" + password
	}
	ini := fmt.Sprintf(`[databases]
* = %s connect_query='SET statement_timeout = ''60s''; SET idle_in_transaction_session_timeout = ''60s'''

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = 4
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
`, db, port, filepath.Join(dir, "userlist.txt"))
	write(t, filepath.Join(dir, "userlist.txt"), fmt.Sprintf("%q %q\n", userName, password))
	write(t, filepath.Join(dir, "pgbouncer.ini"), ini)

	args := []string{filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 { // pgbouncer refuses to run as root
		_, err := user.Lookup("postgres")
		require.NoError(t, err, "as root, pgbouncer runs as user postgres, which must exist")
		args = append([]string{"-u", "postgres"}, args...)
	}
	var log syncBuffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &log, &log
	require.NoError(t, cmd.Start())
	exited := make(chan struct{}) // closed when pgbouncer has exited
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // SIGINT: pgbouncer exits at once
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("pgbouncer's log:\n%s", log.String())
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitListening(t, addr, exited, &log)
	return &bouncer{addr: addr, server: server}
}

// url returns the URL of database name through the bouncer.
func (b *bouncer) url(name string) string {
	u := *b.server
	u.Host, u.Path = b.addr, "/"+name
	return u.String()
}

// configDir makes a directory pgbouncer can read also after dropping root (t.TempDir is 0700).
func configDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgbouncertest-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	return dir
}

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

// freePort returns a loopback port nobody listened on a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitListening waits until pgbouncer accepts connections on addr, failing at once if it exits.
func waitListening(t *testing.T, addr string, exited <-chan struct{}, log *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("pgbouncer exited at start:\n%s", log.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgbouncer does not listen on %s after 30 s:\n%s", addr, strings.TrimSpace(log.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
