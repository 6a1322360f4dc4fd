package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuUse is CPU time, in seconds, of this process (the clients), the e2e server child and all
// PostgreSQL processes: the table shows it per pass so that, on a shared 2-core machine, one can
// see where a pass's time went. Linux /proc only; zero elsewhere. PostgreSQL's figure counts
// every postgres process on the machine (and the ones that exited, see reapedCPU), so anything else using the server shows up in it.
type cpuUse struct{ bench, server, pg float64 }

func (a cpuUse) sub(b cpuUse) cpuUse {
	return cpuUse{a.bench - b.bench, a.server - b.server, a.pg - b.pg}
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux platform Go runs on.
const clockTicks = 100

// cpuNow samples the three figures; serverPID 0 means no server.
func cpuNow(serverPID int) cpuUse {
	u := cpuUse{bench: procCPU("self")}
	if serverPID > 0 {
		u.server = procCPU(strconv.Itoa(serverPID))
	}
	paths, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, p := range paths {
		if comm, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(comm)) == "postgres" {
			u.pg += procCPU(filepath.Base(filepath.Dir(p))) + reapedCPU(filepath.Base(filepath.Dir(p)))
		}
	}
	return u
}

// procCPU returns user+system seconds of /proc/PID/stat, 0 when unreadable.
func procCPU(pid string) float64 { return statSeconds(pid, 11) }

// reapedCPU returns the user+system seconds of PID's children that have exited and been waited
// for: a PostgreSQL backend that ends during a pass (its client disconnected) moves its CPU time
// there, into the postmaster's figure, instead of out of the sum.
func reapedCPU(pid string) float64 { return statSeconds(pid, 13) }

// statSeconds returns the sum of the two /proc/PID/stat times at field (after the command name)
// and the one after it, in seconds; 0 when unreadable.
func statSeconds(pid string, field int) float64 {
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
	if len(f) < field+2 {
		return 0
	}
	// utime and stime are fields 14 and 15 of stat, cutime and cstime 16 and 17.
	ut, _ := strconv.ParseFloat(f[field], 64)
	st, _ := strconv.ParseFloat(f[field+1], 64)
	return (ut + st) / clockTicks
}

// timePass runs fn and returns its wall time and the CPU it cost each party.
func (b *bench) timePass(fn func() error) (time.Duration, cpuUse, error) {
	pid := 0
	if b.srv != nil {
		pid = b.srv.pid()
	}
	c0 := cpuNow(pid)
	d, err := timed(fn)
	return d, cpuNow(pid).sub(c0), err
}
