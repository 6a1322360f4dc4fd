// Package pgbouncer starts Debian's pgbouncer in transaction pooling mode on a loopback port in
// front of a PostgreSQL server, for the PgBouncer tests (internal/pgbouncertest) and the
// measuring tool (cmd/ingest-hostile). Server sessions get the service's timeouts from
// connect_query, as docs/database.md advises for a pooler.
package pgbouncer

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ErrNotInstalled is returned by Start when no pgbouncer binary is on PATH.
var ErrNotInstalled = errors.New("pgbouncer is not installed (apt-get install pgbouncer)")

// Options shape the pooler. Zero fields get defaults.
type Options struct {
	Port       int       // 0: a free loopback port
	PoolSize   int       // default_pool_size (server sessions per database and user); default 20
	MaxClients int       // max_client_conn; default 1000
	Log        io.Writer // pgbouncer's output; default discarded
}

// Bouncer is a running pgbouncer.
type Bouncer struct {
	Addr   string // host:port it listens on
	server *url.URL
	cmd    *exec.Cmd
	exited chan struct{}
	dir    string
}

// Start writes pgbouncer.ini (trust auth, transaction pooling, every database of server) and
// starts pgbouncer, as user postgres when root (pgbouncer refuses to run as root), and waits until
// it listens.
func Start(server *url.URL, o Options) (*Bouncer, error) {
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		return nil, ErrNotInstalled
	}
	if err := o.defaults(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgbouncer-")
	if err != nil {
		return nil, err
	}
	b := &Bouncer{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port)), server: server, dir: dir, exited: make(chan struct{})}
	args, err := writeConfig(dir, server, o)
	if err == nil {
		err = b.run(bin, args, o.Log)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return b, nil
}

func (o *Options) defaults() error {
	if o.PoolSize <= 0 {
		o.PoolSize = 20
	}
	if o.MaxClients <= 0 {
		o.MaxClients = 1000
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		o.Port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	return nil
}

// writeConfig writes pgbouncer.ini and its auth file into dir (readable after pgbouncer drops
// root) and returns pgbouncer's arguments.
func writeConfig(dir string, server *url.URL, o Options) ([]string, error) {
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	pgPort := server.Port()
	if pgPort == "" {
		pgPort = "5432"
	}
	db := fmt.Sprintf("host=%s port=%s", server.Hostname(), pgPort)
	password, _ := server.User.Password()
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
default_pool_size = %d
max_client_conn = %d
ignore_startup_parameters = extra_float_digits
`, db, o.Port, filepath.Join(dir, "userlist.txt"), o.PoolSize, o.MaxClients)
	files := map[string]string{"userlist.txt": fmt.Sprintf("%q %q\n", server.User.Username(), password), "pgbouncer.ini": ini}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	args := []string{filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("as root, pgbouncer runs as user postgres: %w", err)
		}
		args = append([]string{"-u", "postgres"}, args...)
	}
	return args, nil
}

// run starts pgbouncer and waits until it accepts connections, failing at once if it exits.
func (b *Bouncer) run(bin string, args []string, log io.Writer) error {
	b.cmd = exec.Command(bin, args...)
	b.cmd.Stdout, b.cmd.Stderr = log, log
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGINT} // it dies with us
	if err := b.cmd.Start(); err != nil {
		return err
	}
	go func() { _ = b.cmd.Wait(); close(b.exited) }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-b.exited:
			return errors.New("pgbouncer exited at start (see its log)")
		default:
		}
		if c, err := net.DialTimeout("tcp", b.Addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			b.Stop()
			return fmt.Errorf("pgbouncer does not listen on %s after 30 s", b.Addr)
		}
	}
}

// URL returns the URL of database name through the pooler (same user and parameters).
func (b *Bouncer) URL(name string) string {
	u := *b.server
	u.Host, u.Path = b.Addr, "/"+name
	return u.String()
}

// Stop stops pgbouncer (SIGINT: it exits at once; killed after 10 s) and removes its files.
func (b *Bouncer) Stop() {
	_ = b.cmd.Process.Signal(os.Interrupt)
	select {
	case <-b.exited:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
	os.RemoveAll(b.dir)
}
