package upstream_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/upstream"
	"github.com/gemgate/gemini-gateway/gateway/upstream/fakeupstream"
)

// clock is a settable time shared by the fake and the client, so tests can
// move past token lifetimes without sleeping.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }
func creds(a fakeupstream.Account) upstream.Credentials {
	return upstream.Credentials{AccountID: "acct-" + a.CSESIDX, SecureCSES: a.SecureCSES, HostCOSES: a.HostCOSES, CSESIDX: a.CSESIDX, ConfigID: a.ConfigID}
}

type env struct {
	fake  *fakeupstream.Server
	c     *upstream.Client
	acct  fakeupstream.Account
	cr    upstream.Credentials
	clock *clock
}

func newEnv(t *testing.T, opts fakeupstream.Options, mod func(*upstream.Config)) *env {
	t.Helper()
	clk := newClock()
	opts.Now = clk.Now
	if opts.Seed == 0 {
		opts.Seed = time.Now().UnixNano()
		t.Logf("fake seed %d", opts.Seed)
	}
	fake := fakeupstream.Start(opts)
	t.Cleanup(fake.Close)
	acct := fakeupstream.DemoAccount(1)
	fake.AddAccount(acct)
	cfg := upstream.Config{
		BusinessURL: fake.BusinessURL(), AuthURL: fake.AuthURL(), APIURL: fake.APIURL(),
		LanguageCode: "de-DE", TimeZone: "Europe/Berlin", UserAgent: "gateway-test/1",
		Now: clk.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := upstream.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return &env{fake: fake, c: c, acct: acct, cr: creds(acct), clock: clk}
}

type answer struct {
	text, thought string
	files         []upstream.File
	err           error
	session       string
}

func (e *env) ask(t *testing.T, ctx context.Context, query, model string) answer {
	t.Helper()
	session, err := e.c.CreateSession(ctx, e.cr)
	if err != nil {
		return answer{err: err}
	}
	return e.askIn(t, ctx, session, query, model, nil)
}

func (e *env) askIn(t *testing.T, ctx context.Context, session, query, model string, files []string) answer {
	t.Helper()
	s, err := e.c.StreamAssist(ctx, e.cr, upstream.AssistRequest{Session: session, Query: query, ModelID: model, FileIDs: files})
	if err != nil {
		return answer{err: err}
	}
	defer s.Close()
	var a answer
	var tb, th strings.Builder
	for {
		ev, err := s.Next()
		if err != nil {
			if err != io.EOF {
				a.err = err
			}
			break
		}
		switch ev.Kind {
		case upstream.EventText:
			tb.WriteString(ev.Text)
		case upstream.EventThought:
			th.WriteString(ev.Text)
		case upstream.EventFile:
			a.files = append(a.files, ev.File)
		}
	}
	a.text, a.thought, a.session = tb.String(), th.String(), s.Session()
	return a
}

// TestClientScenarios runs the client against every scripted behaviour of
// the fake, with writes split inside multi-byte characters and randomised
// separators.
func TestClientScenarios(t *testing.T) {
	tests := []struct {
		scenario    string
		text        string
		textPrefix  string
		thought     string
		kind        upstream.Kind
		status      string
		partial     string
		files       int
		retryAfter  bool
		msgContains string
	}{
		{scenario: "normal", text: fakeupstream.NormalAnswer, thought: fakeupstream.NormalThoughts},
		{scenario: "legacy-leak", text: fakeupstream.NormalAnswer, thought: fakeupstream.LegacyLeakAssessing + fakeupstream.LegacyLeakGenerating},
		{scenario: "thoughts-only", kind: upstream.KindEmpty, thought: fakeupstream.NormalThoughts},
		{scenario: "quota-inbody", kind: upstream.KindQuota, status: "RESOURCE_EXHAUSTED"},
		{scenario: "internal-midstream", kind: upstream.KindTransient, status: "INTERNAL", text: fakeupstream.InternalMidstreamAnswer, partial: fakeupstream.InternalMidstreamAnswer},
		{scenario: "skipped-policy", kind: upstream.KindPolicy, status: "CUSTOMER_POLICY_VIOLATION", msgContains: "Model Armor"},
		{scenario: "skipped-non-assist", kind: upstream.KindPolicy, status: "NON_ASSIST_SEEKING_QUERY_IGNORED"},
		{scenario: "failed", kind: upstream.KindTransient, status: "FAILED", thought: "**Assessing the Request**\n\nThe user wants a short reply that mixes English, a Chinese couplet and a few emoji. I'll keep it brief.\n\n"},
		{scenario: "image-gen", text: "\n", thought: fakeupstream.ImageGenThought, files: 1},
		{scenario: "truncated", kind: upstream.KindTransient, textPrefix: fakeupstream.TruncatedAnswerPrefix},
		{scenario: "http-429", kind: upstream.KindQuota, retryAfter: true},
		{scenario: "http-403", kind: upstream.KindBanned},
		{scenario: "http-500", kind: upstream.KindTransient},
		{scenario: "http-401-once", text: fakeupstream.NormalAnswer, thought: fakeupstream.NormalThoughts},
		{scenario: "utoken-only", kind: upstream.KindAuthTrouble, status: "UTOKEN_ONLY"},
		{scenario: "echo", text: "You said: hello 春风 [scenario:echo]"},
	}
	e := newEnv(t, fakeupstream.Options{SplitWrites: true}, nil)
	for _, tc := range tests {
		t.Run(tc.scenario, func(t *testing.T) {
			e.fake.QueueScenario(e.acct.CSESIDX, tc.scenario)
			a := e.ask(t, context.Background(), "hello 春风 [scenario:echo]", "gemini-2.5-pro")
			if tc.textPrefix != "" {
				if !strings.HasPrefix(a.text, tc.textPrefix) {
					t.Errorf("text = %q, want prefix %q", a.text, tc.textPrefix)
				}
			} else if a.text != tc.text {
				t.Errorf("text = %q, want %q", a.text, tc.text)
			}
			if a.thought != tc.thought {
				t.Errorf("thought = %q, want %q", a.thought, tc.thought)
			}
			if len(a.files) != tc.files {
				t.Errorf("files = %v, want %d", a.files, tc.files)
			}
			if tc.kind == 0 {
				if a.err != nil {
					t.Fatalf("err = %v", a.err)
				}
				return
			}
			var ue *upstream.Error
			if !errors.As(a.err, &ue) {
				t.Fatalf("err = %v, want kind %v", a.err, tc.kind)
			}
			if ue.Kind != tc.kind {
				t.Errorf("kind = %v, want %v (%v)", ue.Kind, tc.kind, ue)
			}
			if tc.status != "" && !strings.HasPrefix(ue.Status, tc.status) {
				t.Errorf("status = %q, want %q", ue.Status, tc.status)
			}
			if tc.partial != "" && ue.Partial != tc.partial {
				t.Errorf("partial = %q, want %q", ue.Partial, tc.partial)
			}
			if tc.textPrefix != "" && ue.Partial != a.text {
				t.Errorf("truncation partial %q differs from the text delivered %q", ue.Partial, a.text)
			}
			if tc.retryAfter && ue.RetryAfter <= 0 {
				t.Errorf("no retry time in %v", ue)
			}
			if tc.msgContains != "" && !strings.Contains(ue.Error(), tc.msgContains) {
				t.Errorf("error %q lacks %q", ue.Error(), tc.msgContains)
			}
		})
	}
}

func TestTokenSharedAndRefreshed(t *testing.T) {
	e := newEnv(t, fakeupstream.Options{}, nil)
	var wg sync.WaitGroup
	tokens := make([]string, 50)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := e.c.Token(context.Background(), e.cr)
			if err != nil {
				t.Error(err)
			}
			tokens[i] = tok
		}()
	}
	wg.Wait()
	if n := e.fake.GetoxsrfCount(e.acct.CSESIDX); n != 1 {
		t.Fatalf("50 concurrent token requests made %d getoxsrf calls, want 1", n)
	}
	for _, tok := range tokens[1:] {
		if tok != tokens[0] {
			t.Fatal("concurrent callers got different tokens")
		}
	}
	e.clock.Add(260 * time.Second)
	if _, err := e.c.Token(context.Background(), e.cr); err != nil || e.fake.GetoxsrfCount(e.acct.CSESIDX) != 1 {
		t.Fatalf("token refreshed too early: %v, %d calls", err, e.fake.GetoxsrfCount(e.acct.CSESIDX))
	}
	e.clock.Add(15 * time.Second)
	tok, err := e.c.Token(context.Background(), e.cr)
	if err != nil || e.fake.GetoxsrfCount(e.acct.CSESIDX) != 2 || tok == tokens[0] {
		t.Fatalf("token not refreshed after 275 s: %v, %d calls", err, e.fake.GetoxsrfCount(e.acct.CSESIDX))
	}
	// The fresh token works against the fake's verification.
	if a := e.ask(t, context.Background(), "hi", ""); a.err != nil {
		t.Fatal(a.err)
	}
	// New credentials for the same account id mean a new getoxsrf.
	cr := e.cr
	cr.HostCOSES = ""
	if _, err := e.c.Token(context.Background(), cr); err != nil || e.fake.GetoxsrfCount(e.acct.CSESIDX) != 3 {
		t.Fatalf("changed credentials reused the old token: %v", err)
	}
}

func TestHTTP401RefreshesOnce(t *testing.T) {
	e := newEnv(t, fakeupstream.Options{}, nil)
	e.fake.QueueScenario(e.acct.CSESIDX, "http-401-once")
	if a := e.ask(t, context.Background(), "hi", ""); a.err != nil || a.text != fakeupstream.NormalAnswer {
		t.Fatalf("answer %q, %v", a.text, a.err)
	}
	if n := e.fake.GetoxsrfCount(e.acct.CSESIDX); n != 2 {
		t.Errorf("getoxsrf calls = %d, want 2 (initial + refresh after 401)", n)
	}
}

func TestGetOXSRFFailures(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*fakeupstream.Account)
		cr   func(*upstream.Credentials)
		kind upstream.Kind
	}{
		// EXPIRED_SIGN_IN: the sign-in is over, not merely these cookies.
		{"expired", func(a *fakeupstream.Account) { a.Expired = true }, nil, upstream.KindSignIn},
		{"redirect to sign-in", func(a *fakeupstream.Account) { a.AuthMode = fakeupstream.AuthModeRedirect }, nil, upstream.KindExpired},
		{"no key in 200", func(a *fakeupstream.Account) { a.AuthMode = fakeupstream.AuthModeNoKey }, nil, upstream.KindExpired},
		{"wrong cookie", nil, func(c *upstream.Credentials) { c.SecureCSES = "CSE.wrong" }, upstream.KindSignIn},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, fakeupstream.Options{}, nil)
			if tc.mod != nil {
				e.fake.UpdateAccount(e.acct.CSESIDX, tc.mod)
			}
			cr := e.cr
			if tc.cr != nil {
				tc.cr(&cr)
			}
			_, err := e.c.CreateSession(context.Background(), cr)
			if k := upstream.KindOf(err); k != tc.kind {
				t.Fatalf("kind = %v (%v), want %v", k, err, tc.kind)
			}
			for _, secret := range []string{cr.SecureCSES, cr.HostCOSES, cr.CSESIDX} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error reveals a secret: %v", err)
				}
			}
		})
	}
}

func TestWidgetFailures(t *testing.T) {
	t.Run("banned", func(t *testing.T) {
		e := newEnv(t, fakeupstream.Options{}, nil)
		e.fake.UpdateAccount(e.acct.CSESIDX, func(a *fakeupstream.Account) { a.Banned = true })
		if _, err := e.c.CreateSession(context.Background(), e.cr); upstream.KindOf(err) != upstream.KindBanned {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("quota exhausted", func(t *testing.T) {
		e := newEnv(t, fakeupstream.Options{}, nil)
		e.fake.UpdateAccount(e.acct.CSESIDX, func(a *fakeupstream.Account) { a.QuotaLeft = 1 })
		if a := e.ask(t, context.Background(), "one", ""); a.err != nil {
			t.Fatal(a.err)
		}
		a := e.ask(t, context.Background(), "two", "")
		var ue *upstream.Error
		if !errors.As(a.err, &ue) || ue.Kind != upstream.KindQuota {
			t.Fatalf("err = %v", a.err)
		}
	})
	t.Run("wrong config id", func(t *testing.T) {
		e := newEnv(t, fakeupstream.Options{}, nil)
		cr := e.cr
		cr.ConfigID = "00000000-0000-0000-0000-000000000000"
		// A 401 after a freshly minted token: unauthorized, a reason to
		// refresh and cool down, not an expiry.
		if _, err := e.c.CreateSession(context.Background(), cr); upstream.KindOf(err) != upstream.KindUnauthorized {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("session gone", func(t *testing.T) {
		e := newEnv(t, fakeupstream.Options{}, nil)
		session, err := e.c.CreateSession(context.Background(), e.cr)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.c.DeleteSession(context.Background(), e.cr, session); err != nil {
			t.Fatal(err)
		}
		if a := e.askIn(t, context.Background(), session, "hi", "", nil); upstream.KindOf(a.err) != upstream.KindSessionGone {
			t.Fatalf("err = %v", a.err)
		}
	})
	t.Run("invalid model in body", func(t *testing.T) {
		e := newEnv(t, fakeupstream.Options{}, nil)
		if a := e.ask(t, context.Background(), "hi", "gemini-0-nope"); upstream.KindOf(a.err) != upstream.KindBadRequest {
			t.Fatalf("err = %v", a.err)
		}
	})
	t.Run("invalid model as HTTP 400", func(t *testing.T) {
		e := newEnv(t, fakeupstream.Options{ModelErrorHTTP: true}, nil)
		if a := e.ask(t, context.Background(), "hi", "gemini-0-nope"); upstream.KindOf(a.err) != upstream.KindBadRequest {
			t.Fatalf("err = %v", a.err)
		}
	})
}

func TestRequestShape(t *testing.T) {
	e := newEnv(t, fakeupstream.Options{}, nil)
	ctx := context.Background()
	if a := e.ask(t, ctx, "auto please", ""); a.err != nil {
		t.Fatal(a.err)
	}
	if a := e.ask(t, ctx, "pro please", "gemini-2.5-pro"); a.err != nil {
		t.Fatal(a.err)
	}
	sessions := e.fake.Sessions(e.acct.CSESIDX)
	if len(sessions) != 2 {
		t.Fatalf("%d sessions", len(sessions))
	}
	auto, pro := sessions[0].Turns[0], sessions[1].Turns[0]
	if auto.HasGenerationConfig || auto.ModelID != "" {
		t.Errorf("gemini-auto sent a generation config: %+v", auto)
	}
	if !pro.HasGenerationConfig || pro.ModelID != "gemini-2.5-pro" {
		t.Errorf("model not sent: %+v", pro)
	}
	if auto.LanguageCode != "de-DE" || auto.TimeZone != "Europe/Berlin" || auto.Query != "auto please" {
		t.Errorf("turn = %+v", auto)
	}
	for _, r := range e.fake.Requests() {
		if r.Header.Get("User-Agent") != "gateway-test/1" {
			t.Errorf("%s %s: user agent %q", r.Host, r.Path, r.Header.Get("User-Agent"))
		}
		switch r.Host {
		case fakeupstream.HostBusiness:
			if c := r.Header.Get("Cookie"); c != "__Secure-C_SES="+e.acct.SecureCSES+"; __Host-C_OSES="+e.acct.HostCOSES {
				t.Errorf("getoxsrf cookie header wrong")
			}
		case fakeupstream.HostAPI:
			if r.Header.Get("Origin") != "https://business.gemini.google" || r.Header.Get("X-Server-Timeout") != "1800" ||
				!strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ey") {
				t.Errorf("%s: widget headers %v", r.Path, r.Header)
			}
		}
		// Go's transport adds "gzip" itself and decodes it; a hand-set
		// value would disable that.
		if ae := r.Header.Get("Accept-Encoding"); ae != "" && ae != "gzip" {
			t.Errorf("Accept-Encoding set by hand: %q", ae)
		}
	}
}

func TestGzipBody(t *testing.T) {
	e := newEnv(t, fakeupstream.Options{Gzip: true, SplitWrites: true}, nil)
	if a := e.ask(t, context.Background(), "hi", ""); a.err != nil || a.text != fakeupstream.NormalAnswer {
		t.Fatalf("answer %q, %v", a.text, a.err)
	}
}

func TestUploadAndGeneratedFiles(t *testing.T) {
	e := newEnv(t, fakeupstream.Options{}, nil)
	ctx := context.Background()
	session, err := e.c.CreateSession(ctx, e.cr)
	if err != nil {
		t.Fatal(err)
	}
	pngBytes := onePixelPNG(t)
	fid, err := e.c.AddContextFile(ctx, e.cr, session, upstream.Upload{MIMEType: "image/png", Data: pngBytes})
	if err != nil || fid == "" {
		t.Fatalf("upload: %q, %v", fid, err)
	}
	if _, err := e.c.AddContextFile(ctx, e.cr, session, upstream.Upload{MIMEType: "image/x-unknown", Data: pngBytes}); upstream.KindOf(err) != upstream.KindBadRequest {
		t.Errorf("unsupported type: %v", err)
	}
	if a := e.askIn(t, ctx, session, "describe [scenario:image-gen]", "", []string{fid}); a.err != nil || len(a.files) != 1 {
		t.Fatalf("answer: %+v", a)
	} else {
		turn := e.fake.Sessions(e.acct.CSESIDX)[0].Turns[0]
		if len(turn.FileIDs) != 1 || turn.FileIDs[0] != fid {
			t.Errorf("file ids sent: %v", turn.FileIDs)
		}
		stored := e.fake.Sessions(e.acct.CSESIDX)[0].Files[0]
		if !bytes.Equal(stored.Data, pngBytes) || stored.MIME != "image/png" {
			t.Errorf("upload stored %d bytes of %s", len(stored.Data), stored.MIME)
		}
		meta, err := e.c.GeneratedFiles(ctx, e.cr, a.session)
		if err != nil || len(meta) != 1 {
			t.Fatalf("metadata: %v, %v", meta, err)
		}
		data, err := e.c.DownloadFile(ctx, e.cr, meta[0].Session, a.files[0].FileID)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil || img.Bounds().Dx() != fakeupstream.ImageWidth {
			t.Fatalf("downloaded image: %v", err)
		}
	}
	// Base64 downloads are decoded.
	session2, _ := e.c.CreateSession(ctx, e.cr)
	a := e.askIn(t, ctx, session2, "[scenario:image-gen-b64]", "", nil)
	if a.err != nil || len(a.files) != 1 {
		t.Fatalf("b64 answer: %+v", a)
	}
	data, err := e.c.DownloadFile(ctx, e.cr, a.session, a.files[0].FileID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		t.Fatalf("base64 download not decoded: %v", err)
	}
}

func onePixelPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestTimeouts(t *testing.T) {
	t.Run("slow first byte", func(t *testing.T) {
		e := newEnv(t, fakeupstream.Options{}, func(c *upstream.Config) { c.FirstByteTimeout = 300 * time.Millisecond })
		e.fake.QueueScenario(e.acct.CSESIDX, "slow-first-byte")
		start := time.Now()
		a := e.ask(t, context.Background(), "hi", "")
		var ue *upstream.Error
		if !errors.As(a.err, &ue) || ue.Kind != upstream.KindTransient || !ue.Network || !strings.Contains(ue.Message, "first-byte") {
			t.Fatalf("err = %v", a.err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("timeout took %v", d)
		}
	})
	t.Run("stalled stream", func(t *testing.T) {
		e := newEnv(t, fakeupstream.Options{}, func(c *upstream.Config) { c.IdleTimeout = 300 * time.Millisecond })
		e.fake.QueueScenario(e.acct.CSESIDX, "stall")
		a := e.ask(t, context.Background(), "hi", "")
		var ue *upstream.Error
		if !errors.As(a.err, &ue) || ue.Kind != upstream.KindTransient || !strings.Contains(ue.Message, "idle") || ue.Partial != fakeupstream.StallAnswer {
			t.Fatalf("err = %v (partial %q)", a.err, ue.Partial)
		}
		waitFor(t, func() bool { return e.fake.ActiveStreams() == 0 })
	})
}

func TestCancelEndsUpstreamRequest(t *testing.T) {
	e := newEnv(t, fakeupstream.Options{}, nil)
	e.fake.QueueScenario(e.acct.CSESIDX, "stall")
	ctx, cancel := context.WithCancel(context.Background())
	session, _ := e.c.CreateSession(ctx, e.cr)
	s, err := e.c.StreamAssist(ctx, e.cr, upstream.AssistRequest{Session: session, Query: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := s.Next(); err != nil || ev.Kind != upstream.EventText {
		t.Fatalf("first event %v %v", ev, err)
	}
	if e.fake.ActiveStreams() != 1 {
		t.Fatalf("active streams = %d", e.fake.ActiveStreams())
	}
	cancel()
	s.Close()
	waitFor(t, func() bool { return e.fake.ActiveStreams() == 0 })
}

func TestCheckAccountLeavesNoSession(t *testing.T) {
	e := newEnv(t, fakeupstream.Options{}, nil)
	if _, err := e.c.Token(context.Background(), e.cr); err != nil {
		t.Fatal(err)
	}
	res, err := e.c.CheckAccount(context.Background(), e.cr)
	if err != nil || res.Latency < 0 {
		t.Fatal(err)
	}
	if n := e.fake.GetoxsrfCount(e.acct.CSESIDX); n != 2 {
		t.Errorf("check did not refresh the signing key: %d getoxsrf calls", n)
	}
	ss := e.fake.Sessions(e.acct.CSESIDX)
	if len(ss) != 1 || !ss[0].Deleted {
		t.Errorf("check left sessions behind: %+v", ss)
	}
}

// TestProxy sends every call through an HTTP proxy given as PROXY.
func TestProxy(t *testing.T) {
	var hits atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		out, _ := http.NewRequestWithContext(r.Context(), r.Method, r.URL.String(), r.Body)
		out.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	e := newEnv(t, fakeupstream.Options{}, func(c *upstream.Config) { c.Proxy = proxy.URL })
	if a := e.ask(t, context.Background(), "via proxy", ""); a.err != nil || a.text != fakeupstream.NormalAnswer {
		t.Fatalf("answer %q, %v", a.text, a.err)
	}
	// getoxsrf, createSession and streamAssist all went through it.
	if n := hits.Load(); n < 3 {
		t.Fatalf("proxy saw %d requests, want 3", n)
	}
}

func TestBadProxyURL(t *testing.T) {
	for _, p := range []string{"ftp://x:1", "::nope", "socks4://h:1"} {
		if _, err := upstream.New(upstream.Config{Proxy: p}); err == nil || !strings.Contains(err.Error(), "PROXY") {
			t.Errorf("proxy %q: err = %v", p, err)
		}
	}
	for _, p := range []string{"http://127.0.0.1:3128", "https://proxy:443", "socks5://127.0.0.1:1080"} {
		if _, err := upstream.New(upstream.Config{Proxy: p}); err != nil {
			t.Errorf("proxy %q: %v", p, err)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
