// Package dbtest gives each test package its own real PostgreSQL database, cloned from a migrated
// template (tens of milliseconds), so packages run in parallel without seeing each other's rows.
//
// The server is TEST_DATABASE_URL (any database on it; default postgres://postgres@127.0.0.1:5432/postgres).
// The template is named after a hash of the migrations, so a schema change builds a new one.
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
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"invoice-ingest/models"
)

// DefaultServerURL is used when TEST_DATABASE_URL is unset.
const DefaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

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
	dbName := "ii_test_" + randomSuffix()
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

// clone creates a new database from the migrated template and returns its name.
func clone(ctx context.Context) (string, error) {
	tmpl, err := template(ctx)
	if err != nil {
		return "", err
	}
	dbName := "ii_test_" + randomSuffix()
	err = exec(ctx, "CREATE DATABASE "+pgx.Identifier{dbName}.Sanitize()+" TEMPLATE "+pgx.Identifier{tmpl}.Sanitize())
	return dbName, err
}

// template returns the name of the migrated template database, building it once per schema. Test
// packages run as parallel processes: an advisory lock makes one of them build it.
func template(ctx context.Context) (string, error) {
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
	tmpl := "ii_template_" + hex.EncodeToString(sum.Sum(nil))[:16]

	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return "", fmt.Errorf("connect to test server %s: %w (is PostgreSQL running? see README)", ServerURL(), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(727274)"); err != nil {
		return "", err
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock(727274)")
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

func exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return fmt.Errorf("connect to test server %s: %w", ServerURL(), err)
	}
	defer conn.Close(ctx)
	// Cloning fails while another session is connected to the template; a template being built
	// by a parallel package is locked above, so retrying briefly covers stray sessions.
	for i := 0; ; i++ {
		_, err = conn.Exec(ctx, sql)
		if err == nil || i == 50 {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func drop(ctx context.Context, db string) error {
	return exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)")
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
