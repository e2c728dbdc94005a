package app

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// openLogFile appends the (redacted) log to <data dir>/gateway.log,
// starting afresh when it grew past 10 MB.
func openLogFile(dataDir string) (*os.File, error) {
	p := filepath.Join(dataDir, "gateway.log")
	if fi, err := os.Stat(p); err == nil && fi.Size() > 10<<20 {
		os.Rename(p, p+".1")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
}

// headlessLog is where -headless logs: stderr, and on Windows also
// <data dir>\gateway.log, since there it usually runs in the background
// (started at login, or the GUI executable with -headless, which has no
// console at all) and stderr goes nowhere. The returned function closes
// the file.
func headlessLog(dataDir string) (io.Writer, func()) {
	if runtime.GOOS != "windows" {
		return os.Stderr, func() {}
	}
	f, err := openLogFile(dataDir)
	if err != nil {
		return os.Stderr, func() {}
	}
	// The file first: writes to a missing console fail, and io.MultiWriter
	// stops at the first failing writer.
	return io.MultiWriter(f, bestEffort{os.Stderr}), func() { f.Close() }
}

// bestEffort is a writer whose failures are ignored.
type bestEffort struct{ w io.Writer }

func (b bestEffort) Write(p []byte) (int, error) {
	b.w.Write(p)
	return len(p), nil
}
