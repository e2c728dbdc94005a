package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gemgate/gemini-gateway/gateway"
)

// Main runs the program with its command-line arguments and returns the
// exit code.
func Main(args []string) int {
	o, err := ParseFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gemini-gateway:", err)
		return 2
	}
	if o.Version {
		fmt.Println("gemini-gateway", Version)
		return 0
	}
	cfg, err := Load(o, os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, "gemini-gateway:", err)
		return 2
	}
	if o.SignIn != "" {
		return RunSignIn(cfg, o.SignIn, os.Stdout, os.Stderr)
	}
	if cfg.Headless {
		logOut, closeLog := headlessLog(cfg.DataDir)
		defer closeLog()
		return RunHeadless(cfg, logOut, nil)
	}
	return runGUI(cfg)
}

// RunHeadless serves the gateway until SIGINT/SIGTERM (or until stop is
// closed, for tests), then lets open streams finish within the grace
// period and returns 0.
func RunHeadless(cfg *Config, logOut io.Writer, stop <-chan struct{}) int {
	if !gateway.IsLoopback(cfg.Gateway.Host) && cfg.Gateway.APIKey == "" {
		fmt.Fprintf(logOut, "gemini-gateway: refusing to serve on HOST=%s without an API key: anyone on the network could use your accounts. Set API_KEY, or HOST=127.0.0.1.\n", cfg.Gateway.Host)
		return 2
	}
	start := time.Now()
	ctx := context.Background()
	a, err := Build(ctx, cfg, logOut)
	if err != nil {
		fmt.Fprintln(logOut, "gemini-gateway:", err)
		return 1
	}
	if err := a.StartGateway(); err != nil {
		var inUse *gateway.ErrPortInUse
		if errors.As(err, &inUse) {
			fmt.Fprintf(logOut, "gemini-gateway: port %d is already in use by another program; start with another port, e.g. PORT=%d\n", cfg.Gateway.Port, cfg.Gateway.Port+1)
		} else {
			fmt.Fprintln(logOut, "gemini-gateway:", err)
		}
		a.Close(ctx)
		return 1
	}
	if a.AdminKeyCreated {
		showAdminKeyOnce(os.Stderr, a.AdminKeyPath, cfg.Gateway.AdminKey)
	}
	if len(a.Server.ClientKeys()) == 0 {
		if cfg.Gateway.AllowKeylessLoopback {
			a.Log.Warn("no client key and ALLOW_KEYLESS_LOOPBACK=true: any program or user on this machine can use the gateway (not its admin API)")
		} else {
			a.Log.Info("no client key yet: clients are refused until you set API_KEY or create one with POST /api/admin/keys (admin key in the file logged above)")
		}
	}
	a.Log.Info("ready", "startup_ms", time.Since(start).Milliseconds(), "data_dir", cfg.DataDir,
		"database", a.Store.Dialect(), "secrets", a.SecretBackend, "accounts", len(a.Pool.Snapshot()))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case s := <-sig:
		a.Log.Info("shutting down", "signal", s.String(), "grace", cfg.Gateway.ShutdownGrace.String())
	case <-stop:
		a.Log.Info("shutting down")
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.Gateway.ShutdownGrace+10*time.Second)
	defer cancel()
	if err := a.Close(cctx); err != nil {
		a.Log.Warn("shutdown", "err", err)
	}
	return 0
}

// showAdminKeyOnce prints a newly made admin key to the terminal, never to
// a log: when stderr is not a terminal (a service manager, a pipe into a
// log file) only the file's path is shown.
func showAdminKeyOnce(stderr *os.File, path, key string) {
	if fi, err := stderr.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return
	}
	fmt.Fprintf(stderr, "\nAdmin key (shown once; also in %s, readable only by you):\n\n    %s\n\n"+
		"Send it as \"Authorization: Bearer <admin key>\" to /api/admin/*. Client keys: POST /api/admin/keys.\n\n", path, key)
}
