#!/bin/sh
# Desktop figures: exec → /healthz of the headless and the desktop binary
# (for the desktop one, its embedded gateway answering while the window is
# being shown; the window is not timed), and each one's idle CPU, wake-ups
# and RSS over 60 s (the GUI with its window hidden). A GUI figure that
# cannot be measured is a FAIL, and the script exits non-zero. The GUI runs on a virtual X display (Xvfb)
# with a private D-Bus session and a throw-away HOME, so that neither the
# user's desktop nor their keyring is touched (the app probes the Secret
# Service, which D-Bus may start). Writes bench/desktop.json and
# bench/desktop.txt. Extra arguments go to gwbench, e.g. -idle 10s or
# -gui-bin bin/gemini-gateway.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
# The Go tool keeps its caches and settings where they are.
GOCACHE=$("$GO" env GOCACHE) GOMODCACHE=$("$GO" env GOMODCACHE) GOPATH=$("$GO" env GOPATH) GOENV=$("$GO" env GOENV)
export GO GOCACHE GOMODCACHE GOPATH GOENV
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
mkdir -m 700 "$home/run"
status="$home/status"
gwbench='"$GO" run ./gateway/bench/cmd/gwbench -desktop -out bench/desktop.json "$@"; echo $? >"'"$status"'"'
if command -v xvfb-run >/dev/null 2>&1 && command -v dbus-run-session >/dev/null 2>&1; then
	# dbus-daemon's complaint that it cannot raise its file limit, and the
	# keyring daemon's greeting, are noise.
	{ HOME=$home XDG_CONFIG_HOME=$home/.config XDG_DATA_HOME=$home/.local/share XDG_CACHE_HOME=$home/.cache XDG_RUNTIME_DIR=$home/run \
		xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- sh -c "$gwbench" sh "$@" 2>&1 >bench/desktop.txt |
		grep -v -e '^dbus-daemon' -e '^GNOME_KEYRING' >&2; } || true
else
	echo "desktop.sh: no xvfb-run or dbus-run-session: the GUI is not measured" >&2
	DISPLAY= sh -c "$gwbench" sh "$@" >bench/desktop.txt
fi
sed -i '/^GNOME_KEYRING/d' bench/desktop.txt
cat bench/desktop.txt
exit "$(cat "$status" 2>/dev/null || echo 1)"
