package signin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
)

// prepareCmd starts the browser in a new process group, hides the console
// and appends BROWSER_ARGS after the app's flags.
func prepareCmd(cmd *exec.Cmd, extra []string) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= syscall.CREATE_NEW_PROCESS_GROUP
	if len(extra) > 0 && len(cmd.Args) > 1 {
		last := cmd.Args[len(cmd.Args)-1]
		args := append([]string{}, cmd.Args[:len(cmd.Args)-1]...)
		args = append(args, extra...)
		cmd.Args = append(args, last)
	}
}

// killBrowser ends the browser and its whole process tree.
func killBrowser(pid int, _ string) {
	if pid > 0 {
		_ = exec.Command("taskkill", "/T", "/F", "/PID", strconv.Itoa(pid)).Run()
	}
}

// lockProfile refuses a profile whose "lockfile" a running browser holds
// open (Chromium keeps it open exclusively on Windows).
func lockProfile(dir string) (func(), error) {
	p := filepath.Join(dir, "lockfile")
	if _, err := os.Stat(p); err == nil {
		if err := os.Remove(p); err != nil {
			return nil, ErrProfileInUse
		}
	}
	return func() {}, nil
}
