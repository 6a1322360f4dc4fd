package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuUse is CPU time, in seconds, of this process (the clients), the e2e server child and
// PostgreSQL: the table shows it per pass so that, on a shared 2-core machine, one can see where
// a pass's time went. Linux /proc only; zero elsewhere. PostgreSQL's figure counts the backends
// of the scratch database (other databases of a shared server do not count) and the server's
// shared writers (checkpointer, background writer, WAL writer), which other databases' writes
// also keep busy; a backend that exits during a pass takes its time with it.
type cpuUse struct{ bench, server, pg float64 }

func (a cpuUse) sub(b cpuUse) cpuUse {
	return cpuUse{a.bench - b.bench, a.server - b.server, a.pg - b.pg}
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux platform Go runs on.
const clockTicks = 100

// cpuNow samples the three figures; serverPID 0 means no server. db is the scratch database.
func cpuNow(serverPID int, db string) cpuUse {
	u := cpuUse{bench: procCPU("self")}
	if serverPID > 0 {
		u.server = procCPU(strconv.Itoa(serverPID))
	}
	paths, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, p := range paths {
		pid := filepath.Base(filepath.Dir(p))
		if comm, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(comm)) == "postgres" && ours(pid, db) {
			u.pg += procCPU(pid)
		}
	}
	return u
}

// ours reports whether postgres process pid works for database db: a backend or autovacuum worker
// of db (its title names it), or one of the shared writers.
func ours(pid, db string) bool {
	title, err := os.ReadFile("/proc/" + pid + "/cmdline")
	if err != nil {
		return false
	}
	f := strings.Fields(strings.ReplaceAll(string(title), "\x00", " "))
	for i, w := range f {
		switch {
		case w == db:
			return true
		case w == "checkpointer" || w == "walwriter", w == "writer" && i > 0 && f[i-1] == "background":
			return true
		}
	}
	return false
}

// procCPU returns user+system seconds of /proc/PID/stat, 0 when unreadable.
func procCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may contain spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64) // utime, field 14 of stat
	st, _ := strconv.ParseFloat(f[12], 64) // stime, field 15
	return (ut + st) / clockTicks
}

// timePass runs fn and returns its wall time and the CPU it cost each party.
func (b *bench) timePass(fn func() error) (time.Duration, cpuUse, error) {
	pid := 0
	if b.srv != nil {
		pid = b.srv.pid()
	}
	c0 := cpuNow(pid, b.dbName)
	d, err := timed(fn)
	return d, cpuNow(pid, b.dbName).sub(c0), err
}
