//go:build !linux

package main

import "os/exec"

// dieWithParent needs Linux's PR_SET_PDEATHSIG; elsewhere children are only stopped on a clean exit.
func dieWithParent(*exec.Cmd) {}
