// Package dbtest gives each test package its own real PostgreSQL database, cloned from a migrated
// template (tens of milliseconds), so packages run in parallel without seeing each other's rows.
//
// The server is TEST_DATABASE_URL (any database on it; default postgres://postgres@127.0.0.1:5432/postgres).
// The template is named after a hash of the migrations (ii_template_<hash>), so a schema change
// builds a new one; it is shared by the test packages, which run as parallel processes. Test
// databases are named ii_test_<run>_<random>, where <run> is DBTEST_RUN (set by `make test`, one
// per run) or "x"; each package drops its own. Cleanup, run by `make test` once `go test` has ended
// (go run ./models/dbtest/cleanup), drops the templates and whatever databases the run left.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	neturl "net/url"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"invoice-ingest/models"
)

// DefaultServerURL is used when TEST_DATABASE_URL is unset.
const DefaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Session advisory locks shared by every test process on a server (and by older versions of this
// package, which take buildLock only). buildLock: held while a template is checked or built.
// cloneLock: held shared from a template's check to the end of a clone from it, and exclusively by
// Cleanup, so a template is never dropped between the moment a clone finds it and the clone.
const (
	buildLock = 727274
	cloneLock = 727275
)

// strayAge: a test database of another run is only dropped by Cleanup when nobody is connected to
// it and it was created longer ago than this (a run killed midway), never one of a running run.
const strayAge = time.Hour

var runRE = regexp.MustCompile(`^[a-z0-9]{1,24}$`)

// RunID returns this run's id, DBTEST_RUN when it is 1 to 24 lower-case letters and digits, else "x".
func RunID() string {
	if r := os.Getenv("DBTEST_RUN"); runRE.MatchString(r) {
		return r
	}
	return "x"
}

// testName returns a new name for a test database of this run.
func testName() string { return "ii_test_" + RunID() + "_" + randomSuffix() }

var (
	once   sync.Once
	shared *models.DB
	name   string
	err    error
)

// ServerURL returns the URL of the test server's maintenance database.
func ServerURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultServerURL
}

// Main runs a package's tests with its database and drops the database afterwards. Call it from
// TestMain: func TestMain(m *testing.M) { dbtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	if name != "" {
		if err := drop(context.Background(), name); err != nil {
			fmt.Fprintln(os.Stderr, "dbtest: drop:", err)
		}
	}
	os.Exit(code)
}

// DB returns the package's database, creating it on first use.
func DB(t testing.TB) *models.DB {
	t.Helper()
	once.Do(func() { shared, name, err = create(context.Background()) })
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return shared
}

// NewDatabase creates one more fresh migrated database, dropped when t ends, and returns its URL.
// For tests that must own a whole database (migration runs, queue fault tests).
func NewDatabase(t testing.TB) string {
	t.Helper()
	dbName, err := clone(context.Background())
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() { _ = drop(context.Background(), dbName) })
	return withDatabase(dbName)
}

// NewEmptyDatabase creates an empty database (no schema), dropped when t ends, and returns its URL.
func NewEmptyDatabase(t testing.TB) string {
	t.Helper()
	dbName := testName()
	if err := exec(context.Background(), "CREATE DATABASE "+pgx.Identifier{dbName}.Sanitize()); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() { _ = drop(context.Background(), dbName) })
	return withDatabase(dbName)
}

// create clones the package's database and opens it.
func create(ctx context.Context) (*models.DB, string, error) {
	dbName, err := clone(ctx)
	if err != nil {
		return nil, "", err
	}
	db, err := models.Open(ctx, withDatabase(dbName))
	return db, dbName, err
}

// clone creates a new database from the migrated template and returns its name. It holds cloneLock
// shared from finding (or building) the template to the end of the copy.
func clone(ctx context.Context) (string, error) {
	conn, err := connect(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock_shared($1)", cloneLock); err != nil {
		return "", err
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock_shared($1)", cloneLock)
	tmpl, err := template(ctx, conn)
	if err != nil {
		return "", err
	}
	dbName := testName()
	err = retry(ctx, conn, "CREATE DATABASE "+pgx.Identifier{dbName}.Sanitize()+" TEMPLATE "+pgx.Identifier{tmpl}.Sanitize())
	return dbName, err
}

// templateName is the template's name: a hash of the migrations.
func templateName() (string, error) {
	sum := sha256.New()
	err := fs.WalkDir(models.Migrations(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(models.Migrations(), p)
		sum.Write([]byte(p))
		sum.Write(b)
		return err
	})
	if err != nil {
		return "", err
	}
	return "ii_template_" + hex.EncodeToString(sum.Sum(nil))[:16], nil
}

// template returns the name of the migrated template database, building it once per schema. Test
// packages run as parallel processes: buildLock makes one of them build it. A template dropped by
// Cleanup (another run's) is built again.
func template(ctx context.Context, conn *pgx.Conn) (string, error) {
	tmpl, err := templateName()
	if err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", buildLock); err != nil {
		return "", err
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", buildLock)
	var ready bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)", tmpl).Scan(&ready); err != nil {
		return "", err
	}
	if ready {
		return tmpl, nil
	}
	// A half-built template from a killed run is dropped and rebuilt.
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{tmpl}.Sanitize()); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{tmpl}.Sanitize()); err != nil {
		return "", err
	}
	db, err := models.Open(ctx, withDatabase(tmpl))
	if err != nil {
		return "", err
	}
	err = models.Migrate(ctx, db.SQL)
	db.Close()
	if err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{tmpl}.Sanitize()+" WITH is_template true"); err != nil {
		return "", err
	}
	return tmpl, nil
}

// withDatabase returns the server URL naming database db instead.
func withDatabase(db string) string {
	u, err := neturl.Parse(ServerURL())
	if err != nil {
		panic(fmt.Sprintf("TEST_DATABASE_URL must be a postgres:// URL: %v", err))
	}
	u.Path = "/" + db
	return u.String()
}

// connect opens a session on the test server's maintenance database.
func connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return nil, fmt.Errorf("connect to test server %s: %w (is PostgreSQL running? see README)", redacted(ServerURL()), err)
	}
	return conn, nil
}

func exec(ctx context.Context, sql string) error {
	conn, err := connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return retry(ctx, conn, sql)
}

// retry runs sql, retrying briefly: cloning fails while another session is connected to the
// template; a template being built by a parallel package is locked, so this covers stray sessions.
func retry(ctx context.Context, conn *pgx.Conn, sql string) error {
	for i := 0; ; i++ {
		_, err := conn.Exec(ctx, sql)
		if err == nil || i == 50 {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// redacted returns url without its password, for messages.
func redacted(url string) string {
	if u, err := neturl.Parse(url); err == nil {
		return u.Redacted()
	}
	return "(TEST_DATABASE_URL)"
}

func drop(ctx context.Context, db string) error {
	return exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)")
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
