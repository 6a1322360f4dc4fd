package dbtest

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cleanup drops, on the test server, the databases that `go test` runs leave behind: every
// ii_test_<run>_* database of run (whose tests have all ended), the ii_test_* databases of other
// runs that nobody uses and that are older than an hour (runs killed midway; their age is read
// from the server's files, so only as a superuser), and every ii_template_* template. It holds
// cloneLock and buildLock exclusively, so no template disappears under a running clone or build;
// a concurrent run that needs a dropped template builds it again. It writes one line to w.
func Cleanup(ctx context.Context, run string, w io.Writer) error {
	conn, err := connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, lock := range []int{cloneLock, buildLock} {
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lock); err != nil {
			return err
		}
		defer conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", lock)
	}
	c := &cleaner{ctx: ctx, conn: conn}
	for _, step := range []func() error{func() error { return c.dropRun(run) }, c.dropStray, c.dropTemplates} {
		if err := step(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "dbtest: cleanup on %s dropped %d database(s)", redacted(ServerURL()), len(c.dropped))
	if len(c.dropped) > 0 {
		fmt.Fprintf(w, " %v", c.dropped)
	}
	fmt.Fprintln(w)
	if len(c.failed) > 0 {
		return fmt.Errorf("could not drop: %v", c.failed)
	}
	return nil
}

// cleaner is one Cleanup: its connection and what it dropped or failed to.
type cleaner struct {
	ctx     context.Context
	conn    *pgx.Conn
	dropped []string
	failed  []error
}

func (c *cleaner) names(sql string, args ...any) ([]string, error) {
	rows, err := c.conn.Query(c.ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (c *cleaner) drop(name, sql string) {
	if _, err := c.conn.Exec(c.ctx, sql); err != nil {
		c.failed = append(c.failed, fmt.Errorf("%s: %w", name, err))
		return
	}
	c.dropped = append(c.dropped, name)
}

// dropRun drops this run's databases: all its test processes have ended.
func (c *cleaner) dropRun(run string) error {
	if !runRE.MatchString(run) {
		return nil
	}
	own, err := c.names(`SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1`, "ii_test_"+run+"_")
	if err != nil {
		return err
	}
	for _, n := range own {
		c.drop(n, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)")
	}
	return nil
}

// dropStray drops other runs' databases: only unused ones older than strayAge. Without the right
// to read the server's files (not a superuser) their age is unknown and they stay.
func (c *cleaner) dropStray() error {
	var superuser bool
	if err := c.conn.QueryRow(c.ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&superuser); err != nil {
		return err
	}
	if !superuser {
		return nil
	}
	stray, err := c.names(`
		SELECT d.datname FROM pg_database d
		WHERE starts_with(d.datname, 'ii_test_') AND NOT d.datistemplate
		  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)
		  AND (pg_stat_file('base/' || d.oid || '/PG_VERSION', true)).modification < now() - $1::interval
		ORDER BY 1`, fmt.Sprintf("%d seconds", int(strayAge/time.Second)))
	if err != nil {
		return err
	}
	for _, n := range stray {
		// Without FORCE: a database someone connected to meanwhile stays.
		c.drop(n, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize())
	}
	return nil
}

// dropTemplates drops every template (all schemas: a template is cheap to build again).
func (c *cleaner) dropTemplates() error {
	tmpls, err := c.names(`SELECT datname FROM pg_database WHERE starts_with(datname, 'ii_template_') ORDER BY 1`)
	if err != nil {
		return err
	}
	for _, n := range tmpls {
		id := pgx.Identifier{n}.Sanitize()
		if _, err := c.conn.Exec(c.ctx, "ALTER DATABASE "+id+" WITH is_template false"); err != nil {
			c.failed = append(c.failed, fmt.Errorf("%s: %w", n, err))
			continue
		}
		c.drop(n, "DROP DATABASE IF EXISTS "+id)
	}
	return nil
}
