package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	neturl "net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// runBouncer is `ingest-hostile pgbouncer [flags] [-- command args...]`: it starts Debian's
// pgbouncer in transaction pooling mode on a loopback port in front of the server of
// -database-url (as internal/pgbouncertest does), prints the URL of its `postgres` database on
// stdout, then runs the command (its exit status is ours) or, without one, waits for SIGINT.
func runBouncer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	def := os.Getenv("PG_SERVER_URL")
	if def == "" {
		def = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	fs := flag.NewFlagSet("ingest-hostile pgbouncer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("database-url", def, "maintenance database URL of the PostgreSQL server PgBouncer forwards to")
	port := fs.Int("port", 0, "port PgBouncer listens on (0: a free one)")
	poolSize := fs.Int("pool-size", 20, "default_pool_size: server sessions per database and user")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := neturl.Parse(*server)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("-database-url: not a postgres:// URL: %q", *server)
	}
	if *port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		*port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	stop, err := startBouncer(u, *port, *poolSize, stderr)
	if err != nil {
		return err
	}
	defer stop()
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(*port))
	fmt.Fprintln(stdout, u.String())
	if fs.NArg() == 0 {
		<-ctx.Done()
		return nil
	}
	cmd := exec.CommandContext(ctx, fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	return cmd.Run()
}

// startBouncer writes pgbouncer.ini (trust auth, transaction pooling, the service's timeouts in
// connect_query, as docs/database.md advises) and starts pgbouncer, as user postgres when root.
func startBouncer(server *neturl.URL, port, poolSize int, stderr io.Writer) (stop func(), err error) {
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		return nil, errors.New("pgbouncer is not installed (apt-get install pgbouncer)")
	}
	dir, err := os.MkdirTemp("", "ingest-hostile-pgbouncer-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil { // readable after pgbouncer drops root
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
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits
`, db, port, filepath.Join(dir, "userlist.txt"), poolSize)
	files := map[string]string{"userlist.txt": fmt.Sprintf("%q %q\n", server.User.Username(), password), "pgbouncer.ini": ini}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	args := []string{filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 { // pgbouncer refuses to run as root
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("as root, pgbouncer runs as user postgres: %w", err)
		}
		args = append([]string{"-u", "postgres"}, args...)
	}
	return runPgbouncer(bin, args, dir, port, stderr)
}

// runPgbouncer starts it, waits until it listens, and returns what stops it (SIGINT).
func runPgbouncer(bin string, args []string, dir string, port int, stderr io.Writer) (func(), error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGINT}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		os.RemoveAll(dir)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			os.RemoveAll(dir)
			return nil, errors.New("pgbouncer exited at start (its log is above)")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("pgbouncer does not listen on %s after 30 s", addr)
		}
	}
}
