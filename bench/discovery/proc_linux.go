package main

import (
	"os/exec"
	"syscall"
)

// bindToParent makes the server die with this program, so that an
// interrupted benchmark leaves no server behind to skew the next run.
func bindToParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
