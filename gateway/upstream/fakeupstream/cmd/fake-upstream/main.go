// Command fake-upstream runs the fake Gemini Business upstream
// (package fakeupstream) on loopback, so that the gateway, curl or an
// OpenAI client can be tried by hand without a Google account.
//
// It prints the environment a user exports to point the gateway at it,
// then serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// config is the parsed command line.
type config struct {
	addr        string
	accounts    int
	scenario    string
	elemDelay   time.Duration
	firstDelay  time.Duration
	split       bool
	seed        int64
	allowRemote bool
	gzip        bool
	rotateKeys  bool
	printEnv    bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("fake-upstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8790", "listen address (loopback only unless -allow-remote)")
	fs.IntVar(&c.accounts, "accounts", 1, "number of deterministic demo accounts")
	fs.StringVar(&c.scenario, "scenario", "", "default streamAssist scenario: "+strings.Join(fakeupstream.BuiltinNames(), ", "))
	fs.DurationVar(&c.elemDelay, "element-delay", 0, "delay between streamed elements")
	fs.DurationVar(&c.firstDelay, "first-byte-delay", 0, "delay before the first body byte")
	fs.BoolVar(&c.split, "split", true, "split writes into small pieces, cutting UTF-8 characters")
	fs.Int64Var(&c.seed, "seed", 0, "random seed (0 = time-based)")
	fs.BoolVar(&c.allowRemote, "allow-remote", false, "allow a non-loopback -addr")
	fs.BoolVar(&c.gzip, "gzip", false, "gzip streamAssist bodies when the client accepts it")
	fs.BoolVar(&c.rotateKeys, "rotate-keys", false, "mint a new signing key on every getoxsrf")
	fs.BoolVar(&c.printEnv, "print-env", false, "print the variables that point a gateway at -addr, then exit")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.accounts < 1 {
		return config{}, errors.New("-accounts must be at least 1")
	}
	if c.scenario != "" && !fakeupstream.IsBuiltin(c.scenario) {
		return config{}, fmt.Errorf("unknown -scenario %q (one of %s)", c.scenario, strings.Join(fakeupstream.BuiltinNames(), ", "))
	}
	if !c.allowRemote {
		if err := checkLoopback(c.addr); err != nil {
			return config{}, err
		}
	}
	return c, nil
}

// checkLoopback refuses addresses reachable from other machines: the fake
// accepts well-known demo credentials and must not be exposed by accident.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-addr %q is not a loopback address; pass -allow-remote to serve other machines", addr)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "fake-upstream:", err)
		return 2
	}
	if c.printEnv {
		printEnv(stdout, "http://"+c.addr)
		return 0
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		fmt.Fprintln(stderr, "fake-upstream:", err)
		return 1
	}
	fake := fakeupstream.New(fakeupstream.Options{
		Seed:            c.seed,
		SplitWrites:     c.split,
		ElementDelay:    c.elemDelay,
		FirstByteDelay:  c.firstDelay,
		DefaultScenario: c.scenario,
		Gzip:            c.gzip,
		RotateKeys:      c.rotateKeys,
		// A long-running demo must not grow without bound.
		MaxRecordedRequests: 1000,
	})
	for i := 1; i <= c.accounts; i++ {
		fake.AddAccount(fakeupstream.DemoAccount(i))
	}

	base := "http://" + displayAddr(ln.Addr())
	printEnv(stdout, base)
	for i := 2; i <= c.accounts; i++ {
		a := fakeupstream.DemoAccount(i)
		fmt.Fprintf(stderr, "account %d: SECURE_C_SES=%s HOST_C_OSES=%s CSESIDX=%s CONFIG_ID=%s\n", i, a.SecureCSES, a.HostCOSES, a.CSESIDX, a.ConfigID)
	}
	fmt.Fprintf(stderr, "fake-upstream: serving %s (Ctrl-C to stop)\n", base)

	srv := &http.Server{Handler: fake.Handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	code := 0
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		fmt.Fprintln(stderr, "fake-upstream:", err)
		code = 1
	}
	// Close first: it ends stalled and delayed streams, which Shutdown
	// alone would wait for until its deadline.
	fake.Close()
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		fmt.Fprintln(stderr, "fake-upstream: shutdown:", err)
		code = 1
	}
	return code
}

// printEnv writes the environment that points a gateway at base with demo
// account 1.
func printEnv(w io.Writer, base string) {
	a := fakeupstream.DemoAccount(1)
	fmt.Fprintf(w, "GEMINI_BUSINESS_URL=%s/business\nGEMINI_AUTH_URL=%s/auth\nGEMINI_API_URL=%s/api\n", base, base, base)
	fmt.Fprintf(w, "SECURE_C_SES=%s\nHOST_C_OSES=%s\nCSESIDX=%s\nCONFIG_ID=%s\n", a.SecureCSES, a.HostCOSES, a.CSESIDX, a.ConfigID)
}

// displayAddr turns a wildcard listen address into one a client can dial.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
}
