package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel send the child SIGTERM if this process dies without stopping it
// (SIGKILL, a crash), so no server outlives the benchmark.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
