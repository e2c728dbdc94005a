//go:build unix && !linux

package signin

import "syscall"

func setDeathSignal(*syscall.SysProcAttr) {}

// killUsing has no /proc to scan here; the process group kill covers the
// browser's children.
func killUsing(string) {}
