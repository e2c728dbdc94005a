//go:build linux

package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/bench"
	"github.com/gemgate/gemini-gateway/gateway/upstream"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// phase is one fake upstream and one gateway process, fresh.
type phase struct {
	d       *driver
	name    string
	dir     string // its logs and data directories
	delay   time.Duration
	deltas  int
	fake    *bench.Child
	fakeURL string
	gw      *bench.Child
	gwURL   string
	key     string
	admin   string // ADMIN_KEY of the gateway under test (admin API, pprof)
	direct  *bench.Direct
	sse     *bench.SSE
	gwAccts []string // CSESIDX of the gateway's accounts
}

func (d *driver) phase(name string, delay time.Duration, deltas int, body func(*phase) error) error {
	p := &phase{d: d, name: name, delay: delay, deltas: deltas, dir: filepath.Join(d.tmp, name)}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return err
	}
	d.phaseLog("phase %s: starting the fake upstream (element delay %s) and the gateway", name, delay)
	fenv, stopFake, err := p.startFake()
	if err != nil {
		return err
	}
	defer stopFake()
	stopGateway, err := p.startGateway(fenv)
	if err != nil {
		return err
	}
	defer stopGateway()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.addAccounts(ctx); err != nil {
		return err
	}
	stopClients, err := p.clients(fenv)
	if err != nil {
		return err
	}
	defer stopClients()
	if err := body(p); err != nil {
		return fmt.Errorf("phase %s: %w (logs in %s; -keep keeps them)", name, err, p.dir)
	}
	// The body may outlast ctx on a busy machine: the stats get their own.
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	return p.getoxsrf(sctx)
}

// startFake starts this phase's fake upstream with twice the gateway's
// accounts and returns the environment it prints for a gateway.
func (p *phase) startFake() (fenv map[string]string, stop func(), err error) {
	log, err := os.Create(filepath.Join(p.dir, "fake.log"))
	if err != nil {
		return nil, nil, err
	}
	fake, fenv, err := bench.StartFake(p.d.fakeBin, []string{
		"-scenario", fakeupstream.ScenarioBench, "-split=false", "-seed", "1",
		"-accounts", strconv.Itoa(2 * p.d.o.accounts), "-bench-deltas", strconv.Itoa(p.deltas), "-bench-text", p.d.o.text,
		"-element-delay", p.delay.String(),
	}, p.dir, log)
	if err != nil {
		log.Close()
		return nil, nil, err
	}
	p.fake = fake
	p.fakeURL = strings.TrimSuffix(fenv["GEMINI_API_URL"], "/api")
	return fenv, func() { fake.Stop(5 * time.Second); log.Close() }, nil
}

// startGateway starts this phase's gateway, configured only through its
// environment, against the fake (fenv), with fresh client and admin keys.
func (p *phase) startGateway(fenv map[string]string) (stop func(), err error) {
	port, err := bench.FreePort()
	if err != nil {
		return nil, err
	}
	p.key = "gwbench-" + randHex(16)
	p.admin = "gwbench-admin-" + randHex(16)
	p.gwURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	log, err := os.Create(filepath.Join(p.dir, "gateway.log"))
	if err != nil {
		return nil, err
	}
	env := []string{
		"HOST=127.0.0.1", "PORT=" + strconv.Itoa(port), "API_KEY=" + p.key, "ADMIN_KEY=" + p.admin,
		"GATEWAY_DATA_DIR=" + filepath.Join(p.dir, "data"), "GATEWAY_SECRET_KEY=" + randHex(16),
		"HEALTH_CHECK_ENABLED=false", "PPROF=true", "SHUTDOWN_GRACE=2s",
	}
	for _, k := range []string{"GEMINI_BUSINESS_URL", "GEMINI_AUTH_URL", "GEMINI_API_URL", "SECURE_C_SES", "HOST_C_OSES", "CSESIDX", "CONFIG_ID"} {
		env = append(env, k+"="+fenv[k])
	}
	gw, err := bench.StartGateway(p.d.gwBin, env, p.dir, p.gwURL, log)
	if err != nil {
		log.Close()
		return nil, err
	}
	p.gw = gw
	return func() { gw.Stop(10 * time.Second); log.Close() }, nil
}

// addAccounts gives the gateway accounts 2..n through the admin API
// (account 1 comes from its environment). Accounts n+1..2n are the direct
// client's, so that the fake's getoxsrf counts tell the two apart.
func (p *phase) addAccounts(ctx context.Context) error {
	p.gwAccts = append(p.gwAccts, fakeupstream.DemoAccount(1).CSESIDX)
	for i := 2; i <= p.d.o.accounts; i++ {
		a := fakeupstream.DemoAccount(i)
		if err := bench.AddAccount(ctx, p.gwURL, p.admin, map[string]any{
			"name": fmt.Sprintf("bench-%d", i), "secure_c_ses": a.SecureCSES, "host_c_oses": a.HostCOSES,
			"csesidx": a.CSESIDX, "config_id": a.ConfigID,
		}); err != nil {
			return err
		}
		p.gwAccts = append(p.gwAccts, a.CSESIDX)
	}
	return nil
}

// clients makes the two stream clients: direct (the gateway's upstream
// client with accounts n+1..2n) and SSE through the gateway.
func (p *phase) clients(fenv map[string]string) (stop func(), err error) {
	n := p.d.o.accounts
	var creds []upstream.Credentials
	for i := n + 1; i <= 2*n; i++ {
		a := fakeupstream.DemoAccount(i)
		creds = append(creds, upstream.Credentials{AccountID: "direct-" + strconv.Itoa(i), SecureCSES: a.SecureCSES,
			HostCOSES: a.HostCOSES, CSESIDX: a.CSESIDX, ConfigID: a.ConfigID})
	}
	up, err := upstream.New(upstream.Config{BusinessURL: fenv["GEMINI_BUSINESS_URL"], AuthURL: fenv["GEMINI_AUTH_URL"], APIURL: fenv["GEMINI_API_URL"]})
	if err != nil {
		return nil, err
	}
	p.direct = &bench.Direct{Client: up, Creds: creds, Query: p.d.query, ModelID: p.d.modelID}
	tr := &http.Transport{MaxIdleConns: 0, MaxIdleConnsPerHost: 4096, IdleConnTimeout: 90 * time.Second, DisableCompression: true}
	p.sse = &bench.SSE{HTTP: &http.Client{Transport: tr}, URL: p.gwURL + "/v1/chat/completions", APIKey: p.key, Body: p.d.body}
	return func() { tr.CloseIdleConnections(); up.CloseIdleConnections() }, nil
}

// getoxsrf records the gateway accounts' getoxsrf counts over the life of
// this phase's gateway.
func (p *phase) getoxsrf(ctx context.Context) error {
	st, err := bench.ReadFakeStats(ctx, p.fakeURL)
	if err != nil {
		return fmt.Errorf("fake stats: %w", err)
	}
	life := time.Since(p.gw.Started)
	// The gateway refreshes a token 270 s into its 300 s life.
	allowed := int(math.Ceil(life.Seconds() / 270))
	for _, idx := range p.gwAccts {
		p.d.rep.Getoxsrf = append(p.d.rep.Getoxsrf, bench.GetoxsrfCount{
			Phase: p.name, Account: idx, Count: st.Getoxsrf[idx], Allowed: allowed, LifetimeS: life.Seconds(),
		})
	}
	return nil
}

// steadyWindow is how long the slow case measures CPU with every stream
// open: the streams overlap for about a second.
const steadyWindow = 500 * time.Millisecond

// usage is CPU time of the three processes at one moment.
type usage struct{ self, gw, fake time.Duration }

func (p *phase) usage() usage {
	u := usage{self: bench.SelfCPUTime()}
	u.gw, _ = bench.CPUTime(p.gw.Pid())
	u.fake, _ = bench.CPUTime(p.fake.Pid())
	return u
}

// runCase runs one load directly and then through the gateway.
func (p *phase) runCase(name string, l bench.Load) error {
	profile := p.d.o.cpuProfile != "" && name == p.d.o.profCase
	c := &bench.Case{Name: name, Streams: l.Streams, Rounds: l.Rounds, DelayMs: bench.Ms(p.delay), Deltas: p.deltas}
	for _, mode := range []string{"direct", "gateway"} {
		var s bench.Streamer = p.direct
		if mode == "gateway" {
			s = p.sse
		}
		if p.delay == 0 {
			// Warm-up: connections, tokens, the runtimes' first GC cycles.
			p.d.phaseLog("%s: warm-up, %s", name, mode)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			w := bench.Run(ctx, s, bench.Load{Streams: l.Streams, Rounds: 1, WantDeltas: l.WantDeltas}, nil)
			cancel()
			if sum := bench.Summarize(w, 0); sum.Errors > 0 {
				return fmt.Errorf("%s %s warm-up: %d of %d streams failed: %v", name, mode, sum.Errors, sum.Streams, sum.ErrorEx)
			}
		}
		p.d.phaseLog("%s: measuring %s (%d streams × %d rounds)", name, mode, l.Streams, l.Rounds)
		lm := l
		if mode == "gateway" && l.Record && p.d.o.control > 0 {
			lm.Control, lm.ControlStreams = p.direct, p.d.o.control
		}
		m, err := p.measure(s, lm, mode == "gateway", profile && mode == "gateway")
		if err != nil {
			return err
		}
		if mode == "direct" {
			c.Direct = m
		} else {
			c.Gateway = m
		}
	}
	if l.Streams == 1 && p.delay == 0 && p.d.o.pairs > 0 {
		// Time to first token of one stream from the alternating run: the
		// separate runs above are minutes apart on a machine that may be
		// doing other things, which swamps a sub-millisecond difference.
		p.d.phaseLog("%s: time to first token, %d alternating pairs", name, p.d.o.pairs)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		od, og := bench.Paired(ctx, p.direct, p.sse, p.d.o.pairs, l.WantDeltas)
		cancel()
		sd, sg := bench.Summarize(od, 0), bench.Summarize(og, 0)
		c.Direct.TTFTOwnRunP50, c.Direct.TTFTOwnRunP99 = c.Direct.TTFTP50, c.Direct.TTFTP99
		c.Gateway.TTFTOwnRunP50, c.Gateway.TTFTOwnRunP99 = c.Gateway.TTFTP50, c.Gateway.TTFTP99
		c.Direct.TTFTP50, c.Direct.TTFTP99, c.Direct.PairErrors = sd.TTFTP50, sd.TTFTP99, sd.Errors
		c.Gateway.TTFTP50, c.Gateway.TTFTP99, c.Gateway.PairErrors = sg.TTFTP50, sg.TTFTP99, sg.Errors
		c.Direct.Errors += sd.Errors
		c.Gateway.Errors += sg.Errors
		c.Direct.ErrorEx = append(c.Direct.ErrorEx, sd.ErrorEx...)
		c.Gateway.ErrorEx = append(c.Gateway.ErrorEx, sg.ErrorEx...)
		c.TTFTFromPairs = p.d.o.pairs
	}
	c.Fill()
	p.d.rep.Cases = append(p.d.rep.Cases, c)
	return nil
}
