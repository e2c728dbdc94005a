package signin

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// ErrNoBrowser means no Chrome, Edge, Chromium or Brave was found and
// BROWSER_PATH is not set. The UI offers the manual paste instead.
var ErrNoBrowser = errors.New("no Chrome, Edge, Chromium or Brave browser was found; install one, set BROWSER_PATH to its program, or paste the cookies by hand")

// browserNames are the program names looked up on PATH on Linux and other
// Unix systems, most common first.
var browserNames = []string{
	"google-chrome", "google-chrome-stable", "chromium", "chromium-browser",
	"microsoft-edge", "microsoft-edge-stable", "brave-browser", "brave",
}

// candidates lists the absolute paths tried for goos, in order. env reads
// the environment (ProgramFiles, LOCALAPPDATA, HOME…).
func candidates(goos string, env func(string) string) []string {
	switch goos {
	case "windows":
		var roots []string
		for _, v := range []string{"ProgramFiles", "ProgramFiles(x86)", "LOCALAPPDATA"} {
			if r := env(v); r != "" {
				roots = append(roots, r)
			}
		}
		if len(roots) == 0 {
			roots = []string{`C:\Program Files`, `C:\Program Files (x86)`}
		}
		rels := []string{
			`Google\Chrome\Application\chrome.exe`,
			`Microsoft\Edge\Application\msedge.exe`,
			`BraveSoftware\Brave-Browser\Application\brave.exe`,
			`Chromium\Application\chrome.exe`,
		}
		var out []string
		for _, rel := range rels {
			for _, r := range roots {
				out = append(out, strings.TrimRight(r, `\`)+`\`+rel)
			}
		}
		return out
	case "darwin":
		apps := []string{
			"Google Chrome.app/Contents/MacOS/Google Chrome",
			"Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
			"Chromium.app/Contents/MacOS/Chromium",
			"Brave Browser.app/Contents/MacOS/Brave Browser",
		}
		var out []string
		for _, a := range apps {
			out = append(out, "/Applications/"+a)
			if h := env("HOME"); h != "" {
				out = append(out, h+"/Applications/"+a)
			}
		}
		return out
	default:
		return []string{
			"/opt/google/chrome/chrome", "/usr/bin/google-chrome", "/usr/bin/chromium",
			"/snap/bin/chromium", "/opt/microsoft/msedge/msedge", "/opt/brave.com/brave/brave",
		}
	}
}

// finder holds the system lookups so tests can replace them.
type finder struct {
	goos     string
	env      func(string) string
	isFile   func(string) bool
	lookPath func(string) (string, error)
}

func systemFinder() finder {
	return finder{
		goos: runtime.GOOS,
		env:  os.Getenv,
		isFile: func(p string) bool {
			st, err := os.Stat(p)
			return err == nil && !st.IsDir()
		},
		lookPath: exec.LookPath,
	}
}

// find returns the browser to start: override (BROWSER_PATH) when set,
// else the first installed Chrome, Edge, Chromium or Brave.
func (f finder) find(override string) (string, error) {
	if override = strings.TrimSpace(override); override != "" {
		if f.isFile(override) {
			return override, nil
		}
		if p, err := f.lookPath(override); err == nil {
			return p, nil
		}
		return "", fmt.Errorf("BROWSER_PATH: %q is not a program on this machine", override)
	}
	if f.goos != "windows" && f.goos != "darwin" {
		for _, n := range browserNames {
			if p, err := f.lookPath(n); err == nil {
				return p, nil
			}
		}
	}
	// candidates are written in f.goos's own form already.
	for _, p := range candidates(f.goos, f.env) {
		if f.isFile(p) {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// FindBrowser returns the path of the browser a sign-in would start:
// override (BROWSER_PATH) when set, else the first Chrome, Edge, Chromium
// or Brave found in the usual places of this operating system. It returns
// ErrNoBrowser when there is none.
func FindBrowser(override string) (string, error) {
	return systemFinder().find(override)
}
