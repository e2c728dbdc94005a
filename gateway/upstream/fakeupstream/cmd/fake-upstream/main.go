// Command fake-upstream runs the fake Gemini Business upstream
// (package fakeupstream) on loopback, so that the gateway, curl or an
// OpenAI client can be tried by hand without a Google account.
//
// It prints the environment a user exports to point the gateway at it,
// then serves until SIGINT or SIGTERM.
//
// With -stats it also answers GET /_fake/stats (loopback callers only) with
// the getoxsrf count of every demo account and the number of open streams,
// so that a load driver in another process (gateway/bench) can check how
// often the gateway signs in.
package main

import (
	"context"
	"encoding/json"
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
	benchDeltas int
	benchText   string
	stats       bool
	signInLife  time.Duration
	staleAfter  time.Duration
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
	fs.IntVar(&c.benchDeltas, "bench-deltas", 0, "answer deltas of the bench scenario (0 = the package default, 20)")
	fs.StringVar(&c.benchText, "bench-text", "", "text of each bench delta (empty = the package default, \"hello \")")
	fs.BoolVar(&c.stats, "stats", false, "serve GET /_fake/stats (getoxsrf counts per account) to loopback callers")
	fs.DurationVar(&c.signInLife, "sign-in-lifetime", 0, "hard limit of a sign-in; past it getoxsrf answers 401 EXPIRED_SIGN_IN (0 = never)")
	fs.DurationVar(&c.staleAfter, "cookie-stale-after", 0, "cookie age at which getoxsrf redirects to refreshcookies (0 = never)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.accounts < 1 {
		return config{}, errors.New("-accounts must be at least 1")
	}
	if c.benchDeltas < 0 {
		return config{}, errors.New("-bench-deltas must not be negative")
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
		Seed:             c.seed,
		SplitWrites:      c.split,
		ElementDelay:     c.elemDelay,
		FirstByteDelay:   c.firstDelay,
		DefaultScenario:  c.scenario,
		Gzip:             c.gzip,
		RotateKeys:       c.rotateKeys,
		SignInLifetime:   c.signInLife,
		CookieStaleAfter: c.staleAfter,
		BenchDeltas:      c.benchDeltas,
		BenchDeltaText:   c.benchText,
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

	handler := fake.Handler()
	if c.stats {
		handler = withStats(handler, fake, c.accounts)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
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

// statsPath is outside the three host prefixes, so it cannot shadow a route
// of the imitated upstream.
const statsPath = "/_fake/stats"

// Stats is the body of GET /_fake/stats.
type Stats struct {
	// Getoxsrf counts getoxsrf calls per demo account, keyed by CSESIDX,
	// successful or not, since the start.
	Getoxsrf map[string]int `json:"getoxsrf"`
	// ActiveStreams is the number of widgetStreamAssist answers in progress.
	ActiveStreams int `json:"active_streams"`
}

// withStats answers statsPath itself and passes everything else on. Only
// loopback peers get an answer: the counts say which accounts are in use.
func withStats(next http.Handler, fake *fakeupstream.Server, accounts int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != statsPath {
			next.ServeHTTP(w, r)
			return
		}
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		st := Stats{Getoxsrf: make(map[string]int, accounts), ActiveStreams: fake.ActiveStreams()}
		for i := 1; i <= accounts; i++ {
			idx := fakeupstream.DemoAccount(i).CSESIDX
			st.Getoxsrf[idx] = fake.GetoxsrfCount(idx)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
}
