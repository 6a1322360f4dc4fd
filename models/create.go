package models

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnsureDatabase creates the database named in url when it does not exist. It connects to that
// database first, and to the server's maintenance database ("postgres") only when the first
// connection says the database does not exist: a role that may connect only to its own database
// (managed PostgreSQL, PgBouncer) starts as long as its database exists. Several processes may
// race to create it: losing the race is fine. On a Citus server it creates nothing and says what
// to do instead (refuseCitus).
func EnsureDatabase(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse database url: %w", err)
	}
	name := cfg.Database
	if name == "" {
		return errors.New("database url names no database")
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	if !IsMissingDatabase(err) {
		return fmt.Errorf("connect to %s: %w", Describe(cfg), err)
	}
	cfg.Database = "postgres"
	if conn, err = pgx.ConnectConfig(ctx, cfg); err != nil {
		return fmt.Errorf("database %s does not exist, and creating it needs the maintenance database: connect to %s: %w",
			name, Describe(cfg), err)
	}
	defer conn.Close(ctx)
	if err := refuseCitus(ctx, conn, name); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
		return nil // created meanwhile by another process
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// refuseCitus returns an error when the server runs Citus: a database created on the coordinator
// alone would be a plain one, without the extension or the workers. An operator provisions it on
// every node (docs/scaling.md).
func refuseCitus(ctx context.Context, conn *pgx.Conn, name string) error {
	var citus bool
	err := conn.QueryRow(ctx, `SELECT 'citus' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ','))`).Scan(&citus)
	if err != nil {
		return fmt.Errorf("database %s does not exist: %w", name, err)
	}
	if citus {
		return fmt.Errorf("database %s does not exist, and this server runs Citus: create it, with the citus extension, "+
			"on the coordinator and every worker, and add the workers (docs/scaling.md)", name)
	}
	return nil
}

// IsMissingDatabase tells whether err is PostgreSQL refusing a connection to a database that does
// not exist.
func IsMissingDatabase(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "3D000"
}

// Describe names the database of cfg for messages: host:port/database, never the password.
func Describe(cfg *pgx.ConnConfig) string {
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))) + "/" + cfg.Database
}

// DescribeURL is Describe for a URL; a URL that does not parse is described as such.
func DescribeURL(url string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "(an unparsable DATABASE_URL)"
	}
	return Describe(cfg)
}
