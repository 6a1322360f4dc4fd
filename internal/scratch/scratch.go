// Package scratch holds what the measuring tools (cmd/ingest-bench, cmd/ingest-hostile) share:
// the invoice-ingest binary they run as a child process, the scratch database they run it on,
// created beside a server's maintenance database and dropped afterwards, a free port to start a
// child on, again on another if it exits first (OnFreePort), and whether a child holds the port it
// was given (Listening).
package scratch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Binary returns the invoice-ingest binary to run: given, or a fresh `go build` of
// cmd/invoice-ingest from the module the tool is run in, into dir (a child process, not an
// in-process server, so its RSS is its own and it runs exactly as deployed).
func Binary(ctx context.Context, given, dir string, log func(string, ...any)) (string, error) {
	if given != "" {
		return given, nil
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("cannot find the module to build invoice-ingest from (run inside it, or pass -binary): %v", err)
	}
	bin := filepath.Join(dir, "invoice-ingest")
	log("building %s", bin)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/invoice-ingest")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/invoice-ingest: %v\n%s", err, out)
	}
	return bin, nil
}

// Create creates an empty database named prefix plus a random suffix on the server of serverURL
// and returns its name and URL.
func Create(ctx context.Context, serverURL, prefix string) (name, url string, err error) {
	u, err := neturl.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", "", fmt.Errorf("-database-url must be a postgres:// URL (got %q)", serverURL)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name = prefix + hex.EncodeToString(b)
	if err := exec1(ctx, serverURL, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", "", fmt.Errorf("create scratch database: %w", err)
	}
	u.Path = "/" + name
	return name, u.String(), nil
}

// Drop drops database name, on a fresh context so it runs also after an interrupt, and WITH
// (FORCE), ending the sessions a dying child left behind.
func Drop(serverURL, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return exec1(ctx, serverURL, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// exec1 runs one statement on the server's maintenance database.
func exec1(ctx context.Context, serverURL, sql string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("connect to the server: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}
