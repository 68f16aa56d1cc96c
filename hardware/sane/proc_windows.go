//go:build windows

package sane

import "os/exec"

// ownGroup does nothing on Windows, where SANE runs (under Cygwin or
// MSYS) without helpers of its own.
func ownGroup(cmd *exec.Cmd) {}

// askToStop ends scanimage: Windows has no signal to ask it politely.
func askToStop(cmd *exec.Cmd) error { return cmd.Process.Kill() }

// kill ends scanimage.
func kill(cmd *exec.Cmd) error { return cmd.Process.Kill() }
