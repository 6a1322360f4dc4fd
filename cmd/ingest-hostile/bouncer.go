package main

import (
	"context"
	"flag"
	"fmt"
	"invoice-ingest/internal/pgbouncer"
	"io"
	neturl "net/url"
	"os"
	"os/exec"
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
	b, err := pgbouncer.Start(u, pgbouncer.Options{Port: *port, PoolSize: *poolSize, Log: stderr})
	if err != nil {
		return err
	}
	defer b.Stop()
	fmt.Fprintln(stdout, b.URL("postgres"))
	if fs.NArg() == 0 {
		<-ctx.Done()
		return nil
	}
	cmd := exec.CommandContext(ctx, fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	return cmd.Run()
}
