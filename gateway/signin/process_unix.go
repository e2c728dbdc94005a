//go:build unix

package signin

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// prepareCmd puts the browser in a process group of its own, so that the
// whole group can be killed, and appends BROWSER_ARGS after the app's
// flags (before the start page, which chromedp puts last).
func prepareCmd(cmd *exec.Cmd, extra []string) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	setDeathSignal(cmd.SysProcAttr)
	if len(extra) > 0 && len(cmd.Args) > 1 {
		last := cmd.Args[len(cmd.Args)-1]
		args := append([]string{}, cmd.Args[:len(cmd.Args)-1]...)
		args = append(args, extra...)
		cmd.Args = append(args, last)
	}
}

// killBrowser kills the browser's process group and every process still
// using the profile directory (a child that left the group).
func killBrowser(pid int, dir string) {
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	killUsing(dir)
}

// lockProfile takes an exclusive lock next to the profile directory so
// that two processes never run a browser on it, and refuses a profile a
// browser (this app's or one started by hand) has open.
func lockProfile(dir string) (func(), error) {
	f, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the browser profile: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrProfileInUse
		}
		return nil, fmt.Errorf("lock the browser profile: %w", err)
	}
	unlock := func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
	if singletonAlive(dir) {
		unlock()
		return nil, ErrProfileInUse
	}
	return unlock, nil
}

// singletonAlive reads Chromium's SingletonLock (a symbolic link to
// "<host>-<pid>") and reports whether that browser still runs.
func singletonAlive(dir string) bool {
	target, err := os.Readlink(filepath.Join(dir, "SingletonLock"))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(target, '-')
	if i < 0 {
		return true
	}
	host, pidStr := target[:i], target[i+1:]
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 {
		return true
	}
	if me, err := os.Hostname(); err == nil && me != host {
		return true // another machine on a shared disk: assume it runs
	}
	return syscall.Kill(pid, 0) == nil || errors.Is(syscall.Kill(pid, 0), syscall.EPERM)
}
