//go:build unix

package sane

import (
	"os/exec"
	"syscall"
)

// ownGroup starts scanimage in a process group of its own.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// askToStop asks scanimage and its helpers to stop: SIGTERM makes it
// cancel the scan and eject.
func askToStop(cmd *exec.Cmd) error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }

// kill ends scanimage's whole group at once.
func kill(cmd *exec.Cmd) error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
