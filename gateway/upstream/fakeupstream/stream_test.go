package fakeupstream

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func TestBuiltinScenariosBodies(t *testing.T) {
	const query = "写一首诗 🌸 please"
	checks := map[string]func(t *testing.T, s summary, session string){
		ScenarioNormal: func(t *testing.T, s summary, session string) {
			if s.answer != NormalAnswer || s.thoughts != NormalThoughts {
				t.Errorf("answer %q thoughts %q", s.answer, s.thoughts)
			}
			if s.uTokens == 0 || last(s.states) != "SUCCEEDED" {
				t.Errorf("uTokens %d states %v", s.uTokens, s.states)
			}
			if len(s.sessions) != 1 || !strings.HasPrefix(s.sessions[0], "projects/") || !strings.HasSuffix(s.sessions[0], "/"+session) {
				t.Errorf("sessionInfo.session = %v for %s", s.sessions, session)
			}
			if len(s.answerNames) != 1 || !strings.HasPrefix(s.answerNames[0], s.sessions[0]+"/assistAnswers/") {
				t.Errorf("answer names %v", s.answerNames)
			}
		},
		ScenarioEcho: func(t *testing.T, s summary, _ string) {
			if s.answer != EchoAnswer(query) || s.thoughts != "" || last(s.states) != "SUCCEEDED" {
				t.Errorf("answer %q", s.answer)
			}
		},
		ScenarioLegacyLeak: func(t *testing.T, s summary, _ string) {
			if s.answer != LegacyLeakAssessing+LegacyLeakGenerating+NormalAnswer || s.thoughts != "" {
				t.Errorf("answer %q thoughts %q", s.answer, s.thoughts)
			}
		},
		ScenarioThoughtsOnly: func(t *testing.T, s summary, _ string) {
			if s.answer != "" || s.thoughts != NormalThoughts || last(s.states) != "SUCCEEDED" {
				t.Errorf("answer %q thoughts %q states %v", s.answer, s.thoughts, s.states)
			}
		},
		ScenarioQuotaInBody: func(t *testing.T, s summary, _ string) {
			if s.elements != 1 || !slices.Equal(s.errorCodes, []int{429}) || s.errorStatuses[0] != "RESOURCE_EXHAUSTED" {
				t.Errorf("%+v", s)
			}
		},
		ScenarioInternalMidstream: func(t *testing.T, s summary, _ string) {
			if s.answer != InternalMidstreamAnswer || !slices.Equal(s.errorCodes, []int{500}) || s.errorStatuses[0] != "INTERNAL" {
				t.Errorf("%+v", s)
			}
		},
		ScenarioSkippedPolicy: func(t *testing.T, s summary, _ string) {
			if last(s.states) != "SKIPPED" || !slices.Equal(s.skipReasons, []string{"CUSTOMER_POLICY_VIOLATION"}) || s.violation != SkippedPolicyViolation {
				t.Errorf("%+v", s)
			}
		},
		ScenarioSkippedNonAssist: func(t *testing.T, s summary, _ string) {
			if last(s.states) != "SKIPPED" || !slices.Equal(s.skipReasons, []string{"NON_ASSIST_SEEKING_QUERY_IGNORED"}) || s.answer != "" {
				t.Errorf("%+v", s)
			}
		},
		ScenarioFailed: func(t *testing.T, s summary, _ string) {
			if last(s.states) != "FAILED" || s.answer != "" {
				t.Errorf("%+v", s)
			}
		},
		ScenarioImageGen: func(t *testing.T, s summary, _ string) {
			if s.answer != ImageGenText || s.thoughts != ImageGenThought || len(s.files) != 1 || last(s.states) != "SUCCEEDED" {
				t.Errorf("%+v", s)
			}
		},
		ScenarioImageGenB64: func(t *testing.T, s summary, _ string) {
			if s.answer != ImageGenText || len(s.files) != 1 {
				t.Errorf("%+v", s)
			}
		},
		ScenarioUTokenOnly: func(t *testing.T, s summary, _ string) {
			if s.elements == 0 || s.uTokens != s.elements || s.withSAR != 0 {
				t.Errorf("%+v", s)
			}
		},
		ScenarioBench: func(t *testing.T, s summary, _ string) {
			if s.answer != BenchAnswer(20, "hello ") || s.elements != 21 || last(s.states) != "SUCCEEDED" {
				t.Errorf("answer %q elements %d", s.answer, s.elements)
			}
		},
	}
	// Every builtin whose body is a complete array must have a check.
	for _, name := range BuiltinNames() {
		switch name {
		case ScenarioTruncated, ScenarioStall, ScenarioSlowFirstByte, ScenarioHTTP429, ScenarioHTTP403, ScenarioHTTP500, ScenarioHTTP401Once:
			continue
		}
		if checks[name] == nil {
			t.Errorf("builtin %q has no body check", name)
		}
	}
	layouts := []struct {
		name string
		opts Options
	}{
		{"random layout", Options{}},
		{"split writes", Options{SplitWrites: true}},
		{"plain separators", Options{PlainSeparators: true}},
		{"gzip and split", Options{Gzip: true, SplitWrites: true}},
	}
	for _, lay := range layouts {
		t.Run(lay.name, func(t *testing.T) {
			s, c := startFake(t, lay.opts)
			for name, check := range checks {
				t.Run(name, func(t *testing.T) {
					sess := c.createSession()
					s.QueueScenario(c.acct.CSESIDX, name)
					resp, body := c.stream(sess, query, nil)
					if resp.StatusCode != 200 {
						t.Fatalf("status %d: %s", resp.StatusCode, body)
					}
					if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
						t.Errorf("Content-Type %q", ct)
					}
					check(t, summarize(t, body), sess)
				})
			}
		})
	}
}

func last(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[len(xs)-1]
}

func TestBuiltinUnknown(t *testing.T) {
	if _, ok := Builtin("nope", ""); ok {
		t.Fatal("unknown builtin accepted")
	}
	for _, name := range BuiltinNames() {
		if _, ok := Builtin(name, "q"); !ok {
			t.Errorf("Builtin(%q) missing", name)
		}
	}
	if strings.Join(NormalAnswerDeltas(), "") != NormalAnswer {
		t.Error("NormalAnswerDeltas do not add up to NormalAnswer")
	}
}

func TestLayoutVariesSeparators(t *testing.T) {
	s, c := startFake(t, Options{})
	sess := c.createSession()
	var bodies strings.Builder
	for range 6 {
		s.QueueScenario(c.acct.CSESIDX, ScenarioNormal)
		_, body := c.stream(sess, "q", nil)
		bodies.WriteString(body)
	}
	all := bodies.String()
	for _, want := range []string{"}\n,\r\n", "},\r\n", "\n  \"streamAssistResponse\"", `{"streamAssistResponse":`} {
		if !strings.Contains(all, want) {
			t.Errorf("six bodies never contain %q", want)
		}
	}

	s2, c2 := startFake(t, Options{PlainSeparators: true})
	sess2 := c2.createSession()
	s2.QueueScenario(c2.acct.CSESIDX, ScenarioNormal)
	_, body := c2.stream(sess2, "q", nil)
	if strings.ContainsAny(body, "\r\n") || !strings.HasPrefix(body, `[{"`) || !strings.Contains(body, "},{") || !strings.HasSuffix(body, "}]") {
		t.Errorf("plain layout: %s", body)
	}
}

// recordingWriter keeps each Write separately, as a client would receive
// it after a flush.
type recordingWriter struct {
	mu     sync.Mutex
	header http.Header
	status int
	writes [][]byte
}

func (w *recordingWriter) Header() http.Header { return w.header }
func (w *recordingWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		w.status = code
	}
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.WriteHeader(200)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}
func (w *recordingWriter) Flush() {}

func TestSplitWritesCutMultiByteCharacters(t *testing.T) {
	s := New(Options{Seed: 3, SplitWrites: true})
	s.AddAccount(DemoAccount(1))
	ts := httptest.NewServer(s.Handler()) // only to obtain a key and a session
	defer ts.Close()
	s.base = ts.URL
	c := newClient(t, s, DemoAccount(1))
	c.refresh()
	sess := c.createSession()

	cutInside, writes, elementsTotal := 0, 0, 0
	for range 5 {
		s.QueueScenario(c.acct.CSESIDX, ScenarioNormal)
		b, _ := json.Marshal(c.envelope("streamAssistRequest", assistRequest(sess, "q", nil)))
		req := httptest.NewRequest(http.MethodPost, "/api/v1alpha/locations/global/widgetStreamAssist", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+c.token())
		rw := &recordingWriter{header: http.Header{}}
		s.Handler().ServeHTTP(rw, req)
		if rw.status != 200 {
			t.Fatalf("status %d", rw.status)
		}
		for _, w := range rw.writes {
			if !utf8.Valid(w) {
				cutInside++
			}
		}
		writes += len(rw.writes)
		body := string(bytes.Join(rw.writes, nil))
		sum := summarize(t, body)
		elementsTotal += sum.elements
		if sum.answer != NormalAnswer {
			t.Fatalf("reassembled answer %q", sum.answer)
		}
	}
	if cutInside == 0 {
		t.Error("no write ever ended inside a multi-byte character")
	}
	if writes <= 2*elementsTotal {
		t.Errorf("%d writes for %d elements: pieces are not small", writes, elementsTotal)
	}
}

func TestHTTP401OnceThenSuccessAfterRefresh(t *testing.T) {
	for _, how := range []string{"queued", "directive"} {
		t.Run(how, func(t *testing.T) {
			s, c := startFake(t, Options{})
			sess := c.createSession()
			query := "hello"
			if how == "queued" {
				s.QueueScenario(c.acct.CSESIDX, ScenarioHTTP401Once)
			} else {
				query = "hello [scenario:http-401-once]"
			}
			resp, body := c.stream(sess, query, nil)
			if resp.StatusCode != 401 || errorStatus(t, body) != "UNAUTHENTICATED" {
				t.Fatalf("first call: %d %s", resp.StatusCode, body)
			}
			// Retrying with a token from the same key does not help...
			if resp, _ := c.stream(sess, query, nil); resp.StatusCode != 401 {
				t.Fatalf("retry without refresh: %d, want 401", resp.StatusCode)
			}
			// ...other calls are unaffected...
			if resp, _ := c.call("widgetCreateSession", "createSessionRequest", map[string]any{}); resp.StatusCode != 200 {
				t.Fatalf("createSession during pending 401: %d", resp.StatusCode)
			}
			// ...and after a getoxsrf the retry gets the normal answer.
			oldKid := c.kid
			c.refresh()
			if c.kid == oldKid {
				t.Fatal("getoxsrf did not hand out a newer key after the 401")
			}
			resp, body = c.stream(sess, query, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("retry after refresh: %d %s", resp.StatusCode, body)
			}
			if sum := summarize(t, body); sum.answer != NormalAnswer {
				t.Fatalf("retry answer %q", sum.answer)
			}
			if turns := s.Sessions(c.acct.CSESIDX)[0].Turns; len(turns) != 1 {
				t.Errorf("turns = %d, want only the successful one", len(turns))
			}
			if got := s.GetoxsrfCount(c.acct.CSESIDX); got != 2 {
				t.Errorf("getoxsrf count %d, want 2", got)
			}
		})
	}
}

func TestHTTPErrorScenarios(t *testing.T) {
	tests := []struct {
		scenario   string
		wantStatus int
		wantRPC    string
		check      func(t *testing.T, resp *http.Response, body string)
	}{
		{ScenarioHTTP429, 429, "RESOURCE_EXHAUSTED", func(t *testing.T, resp *http.Response, body string) {
			if resp.Header.Get("Retry-After") != "30" || !strings.Contains(body, "LLM_OVERLOADED") {
				t.Errorf("Retry-After %q body %s", resp.Header.Get("Retry-After"), body)
			}
		}},
		{ScenarioHTTP403, 403, "PERMISSION_DENIED", nil},
		{ScenarioHTTP500, 500, "INTERNAL", nil},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			s, c := startFake(t, Options{})
			s.UpdateAccount(c.acct.CSESIDX, func(a *Account) { a.QuotaLeft = 5 })
			sess := c.createSession()
			s.QueueScenario(c.acct.CSESIDX, tt.scenario)
			resp, body := c.stream(sess, "q", nil)
			if resp.StatusCode != tt.wantStatus || errorStatus(t, body) != tt.wantRPC {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if tt.check != nil {
				tt.check(t, resp, body)
			}
			a, _ := s.Account(c.acct.CSESIDX)
			if a.QuotaLeft != 5 || len(s.Sessions(c.acct.CSESIDX)[0].Turns) != 0 {
				t.Errorf("a failed call consumed quota (%d left) or recorded a turn", a.QuotaLeft)
			}
		})
	}
}

func TestQuota(t *testing.T) {
	s, c := startFake(t, Options{})
	s.UpdateAccount(c.acct.CSESIDX, func(a *Account) { a.QuotaLeft = 2 })
	sess := c.createSession()
	for i := range 2 {
		if resp, body := c.stream(sess, "q", nil); resp.StatusCode != 200 {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body := c.stream(sess, "q", nil)
	if resp.StatusCode != 429 || errorStatus(t, body) != "RESOURCE_EXHAUSTED" || !strings.Contains(body, "LLM_OVERLOADED") {
		t.Fatalf("third call: %d %s", resp.StatusCode, body)
	}
	// The quota does not eat a queued scenario.
	s.QueueScenario(c.acct.CSESIDX, ScenarioEcho)
	if resp, _ := c.stream(sess, "q", nil); resp.StatusCode != 429 {
		t.Fatal("quota not enforced")
	}
	s.UpdateAccount(c.acct.CSESIDX, func(a *Account) { a.QuotaLeft = -1 })
	_, body = c.stream(sess, "again", nil)
	if sum := summarize(t, body); sum.answer != EchoAnswer("again") {
		t.Fatalf("queued scenario lost: %q", sum.answer)
	}
}

func TestModelValidation(t *testing.T) {
	tests := []struct {
		name        string
		opts        Options
		genConfig   any // nil = omitted
		wantStatus  int
		wantInBody  bool
		wantModelID string
	}{
		{"auto omits the config", Options{}, nil, 200, false, ""},
		{"empty config is auto", Options{}, map[string]any{}, 200, false, ""},
		{"known model", Options{}, map[string]any{"modelId": "gemini-2.5-pro"}, 200, false, "gemini-2.5-pro"},
		{"custom model list", Options{Models: []string{"x-1"}}, map[string]any{"modelId": "x-1"}, 200, false, "x-1"},
		{"invalid model in body", Options{}, map[string]any{"modelId": "nope"}, 200, true, ""},
		{"invalid model as HTTP 400", Options{ModelErrorHTTP: true}, map[string]any{"modelId": "nope"}, 400, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := startFake(t, tt.opts)
			sess := c.createSession()
			extra := map[string]any{}
			if tt.genConfig != nil {
				extra["assistGenerationConfig"] = tt.genConfig
			}
			resp, body := c.stream(sess, "q", extra)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if tt.wantStatus == 400 && !strings.Contains(body, "model id: nope is invalid") {
				t.Errorf("body %s", body)
			}
			turns := s.Sessions(c.acct.CSESIDX)[0].Turns
			if tt.wantInBody {
				sum := summarize(t, body)
				if !slices.Equal(sum.errorStatuses, []string{"INVALID_ARGUMENT"}) || !strings.Contains(body, "model id: nope is invalid") {
					t.Errorf("body %s", body)
				}
				if len(turns) != 0 {
					t.Error("an invalid model recorded a turn")
				}
				return
			}
			if tt.wantStatus == 200 {
				if len(turns) != 1 || turns[0].ModelID != tt.wantModelID || turns[0].HasGenerationConfig != (tt.genConfig != nil) {
					t.Errorf("turns %+v", turns)
				}
			}
		})
	}
}

func TestStreamAssistValidation(t *testing.T) {
	_, c := startFake(t, Options{})
	sess := c.createSession()
	tests := []struct {
		name string
		req  map[string]any
	}{
		{"no session", func() map[string]any { r := assistRequest(sess, "q", nil); delete(r, "session"); return r }()},
		{"no query", func() map[string]any { r := assistRequest(sess, "q", nil); delete(r, "query"); return r }()},
		{"no parts", assistRequest(sess, "q", map[string]any{"query": map[string]any{"parts": []any{}}})},
		{"part without text", assistRequest(sess, "q", map[string]any{"query": map[string]any{"parts": []any{map[string]any{"foo": 1}}}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := c.call("widgetStreamAssist", "streamAssistRequest", tt.req)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
		})
	}
	// Several text parts are concatenated; inline data parts are accepted.
	r := assistRequest(sess, "", map[string]any{"query": map[string]any{"parts": []any{
		map[string]any{"text": "a"}, map[string]any{"inlineData": map[string]any{"mimeType": "image/png", "data": "AA=="}}, map[string]any{"text": "b"},
	}}})
	if resp, body := c.call("widgetStreamAssist", "streamAssistRequest", r); resp.StatusCode != 200 {
		t.Fatalf("multi-part: %d %s", resp.StatusCode, body)
	}
}

func TestScenarioPriority(t *testing.T) {
	s, c := startFake(t, Options{DefaultScenario: ScenarioThoughtsOnly})
	sess := c.createSession()
	id := c.acct.CSESIDX
	scenarioOf := func(query string) string {
		t.Helper()
		resp, body := c.stream(sess, query, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%q: %d %s", query, resp.StatusCode, body)
		}
		turns := s.Sessions(id)[0].Turns
		return turns[len(turns)-1].Scenario
	}
	if got := scenarioOf("q"); got != ScenarioThoughtsOnly {
		t.Errorf("default: %q", got)
	}
	s.UpdateAccount(id, func(a *Account) { a.Scenario = ScenarioFailed })
	if got := scenarioOf("q"); got != ScenarioFailed {
		t.Errorf("account: %q", got)
	}
	if got := scenarioOf("q [scenario:echo]"); got != ScenarioEcho {
		t.Errorf("directive: %q", got)
	}
	s.QueueScenario(id, ScenarioLegacyLeak)
	s.QueueScript(id, Scenario{Name: "custom", Elements: []string{
		`{"streamAssistResponse":{"answer":{"state":"IN_PROGRESS","replies":[{"groundedContent":{"content":{"text":"custom in {{sessionShort}}"}}}]}}}`,
		`{"streamAssistResponse":{"answer":{"state":"SUCCEEDED"}}}`,
	}})
	if got := scenarioOf("q [scenario:echo]"); got != ScenarioLegacyLeak {
		t.Errorf("queue before directive: %q", got)
	}
	_, body := c.stream(sess, "q [scenario:echo]", nil)
	if sum := summarize(t, body); sum.answer != "custom in "+sess {
		t.Errorf("script answer %q", sum.answer)
	}
	if got := scenarioOf("q"); got != ScenarioFailed {
		t.Errorf("after the queue: %q", got)
	}
	if resp, body := c.stream(sess, "q [scenario:no-such-thing]", nil); resp.StatusCode != 400 || !strings.Contains(body, "no-such-thing") {
		t.Errorf("unknown directive: %d %s", resp.StatusCode, body)
	}
}

func TestMalformedScriptElementWrittenVerbatim(t *testing.T) {
	s, c := startFake(t, Options{})
	sess := c.createSession()
	s.QueueScript(c.acct.CSESIDX, Scenario{Name: "broken", Elements: []string{`{"b": "}]"}`, `{not json`}})
	_, body := c.stream(sess, "q", nil)
	if !strings.Contains(body, `{not json`) || !strings.Contains(body, `"}]"`) {
		t.Fatalf("body %s", body)
	}
}

func TestTruncatedScenario(t *testing.T) {
	for _, opts := range []Options{{}, {SplitWrites: true}, {Gzip: true}} {
		s, c := startFake(t, opts)
		sess := c.createSession()
		s.QueueScenario(c.acct.CSESIDX, ScenarioTruncated)
		req := c.widgetRequest(context.Background(), "widgetStreamAssist", c.envelope("streamAssistRequest", assistRequest(sess, "q", nil)), c.token())
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%+v: read error %v, want unexpected EOF", opts, err)
		}
		if !strings.Contains(string(body), "春风拂柳绿") || !strings.Contains(string(body), "never be finished") {
			t.Fatalf("%+v: partial body %q", opts, body)
		}
		if json.Valid(body) {
			t.Fatalf("%+v: truncated body is valid JSON", opts)
		}
	}
}

func TestActiveStreamsDropAfterClientCancel(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		scenario string
		readTo   string // wait until the body contains this before cancelling
	}{
		{"stall", Options{}, ScenarioStall, "春风拂柳绿"},
		{"slow first byte", Options{}, ScenarioSlowFirstByte, ""},
		{"long element delay", Options{ElementDelay: time.Hour}, ScenarioNormal, "Assessing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := startFake(t, tt.opts)
			sess := c.createSession()
			s.QueueScenario(c.acct.CSESIDX, tt.scenario)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req := c.widgetRequest(ctx, "widgetStreamAssist", c.envelope("streamAssistRequest", assistRequest(sess, "q", nil)), c.token())
			resp, err := c.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if tt.readTo != "" {
				var got []byte
				buf := make([]byte, 256)
				for !bytes.Contains(got, []byte(tt.readTo)) {
					n, err := resp.Body.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil {
						t.Fatalf("read: %v after %q", err, got)
					}
				}
			}
			if n := s.ActiveStreams(); n != 1 {
				t.Fatalf("ActiveStreams = %d while streaming", n)
			}
			cancel()
			waitFor(t, "ActiveStreams to drop to 0", func() bool { return s.ActiveStreams() == 0 })
		})
	}
}

func TestCloseEndsStalledStreams(t *testing.T) {
	s, c := startFake(t, Options{})
	sess := c.createSession()
	s.QueueScenario(c.acct.CSESIDX, ScenarioStall)
	req := c.widgetRequest(context.Background(), "widgetStreamAssist", c.envelope("streamAssistRequest", assistRequest(sess, "q", nil)), c.token())
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked on a stalled stream")
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("stalled stream ended cleanly; want a broken connection")
	}
}

func TestGzip(t *testing.T) {
	s, c := startFake(t, Options{Gzip: true, SplitWrites: true})
	sess := c.createSession()
	raw := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, accept := range []string{"gzip", "", "gzip;q=0", "br, gzip;q=0.5"} {
		t.Run("accept "+accept, func(t *testing.T) {
			req := c.widgetRequest(context.Background(), "widgetStreamAssist", c.envelope("streamAssistRequest", assistRequest(sess, "q", nil)), c.token())
			if accept != "" {
				req.Header.Set("Accept-Encoding", accept)
			}
			resp, err := raw.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			wantGzip := accept == "gzip" || accept == "br, gzip;q=0.5"
			var r io.Reader = resp.Body
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != wantGzip {
				t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
			}
			if wantGzip {
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				r = zr
			}
			body, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if sum := summarize(t, string(body)); sum.answer != NormalAnswer {
				t.Fatalf("answer %q", sum.answer)
			}
		})
	}
	// Go's default transport negotiates and decodes gzip transparently.
	req := c.widgetRequest(context.Background(), "widgetStreamAssist", c.envelope("streamAssistRequest", assistRequest(sess, "q", nil)), c.token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !resp.Uncompressed || summarize(t, string(body)).answer != NormalAnswer {
		t.Fatalf("transparent gzip: uncompressed=%v", resp.Uncompressed)
	}
	_ = s
}

func TestRequestsRecorded(t *testing.T) {
	s, c := startFake(t, Options{})
	s.Reset()
	sess := c.createSession()
	big := bytes.Repeat([]byte("x"), 100<<10)
	if resp, body := c.upload(sess, "text/plain", big); resp.StatusCode != 200 {
		t.Fatal(body)
	}
	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	if r := reqs[0]; r.Host != HostAPI || r.Method != "POST" || r.Path != "/v1alpha/locations/global/widgetCreateSession" || r.Header.Get("Authorization") == "" || !strings.Contains(string(r.Body), c.acct.ConfigID) {
		t.Errorf("first request %+v", r)
	}
	if r := reqs[1]; len(r.Body) != 64<<10 || !r.BodyTruncated {
		t.Errorf("upload recorded with %d bytes, truncated=%v", len(r.Body), r.BodyTruncated)
	}
	if f := s.Sessions(c.acct.CSESIDX)[0].Files[0]; !bytes.Equal(f.Data, big) {
		t.Errorf("stored upload has %d bytes, want %d", len(f.Data), len(big))
	}
	c.getoxsrf(c.cookie())
	if r := s.Requests()[2]; r.Host != HostBusiness || r.Path != "/auth/getoxsrf" || r.RawQuery != "csesidx="+c.acct.CSESIDX || !strings.Contains(r.Header.Get("Cookie"), "__Secure-C_SES=") {
		t.Errorf("getoxsrf recorded as %+v", r)
	}

	s.Reset()
	if len(s.Requests()) != 0 || len(s.Sessions(c.acct.CSESIDX)) != 0 || s.GetoxsrfCount(c.acct.CSESIDX) != 0 {
		t.Fatal("Reset kept state")
	}
	// Accounts and keys survive a Reset.
	c.createSession()
}

func TestMaxRecordedRequests(t *testing.T) {
	s, c := startFake(t, Options{MaxRecordedRequests: 4})
	for range 10 {
		c.getoxsrf(c.cookie())
	}
	if n := len(s.Requests()); n == 0 || n > 4 {
		t.Fatalf("%d requests kept, want 1..4", n)
	}
	s2, c2 := startFake(t, Options{MaxRecordedRequests: -1})
	c2.getoxsrf(c2.cookie())
	if n := len(s2.Requests()); n != 0 {
		t.Fatalf("%d requests kept with recording off", n)
	}
}

func TestConcurrentBenchStreams(t *testing.T) {
	s, c := startFake(t, Options{DefaultScenario: ScenarioBench, BenchDeltas: 5, BenchDeltaText: "hi ", SplitWrites: true})
	sess := c.createSession()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			req := c.widgetRequest(context.Background(), "widgetStreamAssist", c.envelope("streamAssistRequest", assistRequest(sess, "q", nil)), c.token())
			resp, err := c.hc.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var raws []json.RawMessage
			if err := json.NewDecoder(resp.Body).Decode(&raws); err != nil || len(raws) != 6 {
				errs <- errors.Join(err, errors.New("bad bench body"))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(s.Sessions(c.acct.CSESIDX)[0].Turns); n != 50 {
		t.Errorf("%d turns", n)
	}
}

func BenchmarkBenchScenario(b *testing.B) {
	s := Start(Options{Seed: 1, DefaultScenario: ScenarioBench, MaxRecordedRequests: -1})
	defer s.Close()
	s.AddAccount(DemoAccount(1))
	c := newClient(b, s, DemoAccount(1))
	c.refresh()
	sess := c.createSession()
	body, _ := json.Marshal(c.envelope("streamAssistRequest", assistRequest(sess, "q", nil)))
	tok := c.token()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, s.APIURL()+"/v1alpha/locations/global/widgetStreamAssist", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

func TestDelays(t *testing.T) {
	t.Run("element delay", func(t *testing.T) {
		_, c := startFake(t, Options{DefaultScenario: ScenarioBench, BenchDeltas: 5, ElementDelay: 20 * time.Millisecond})
		sess := c.createSession()
		start := time.Now()
		resp, body := c.stream(sess, "q", nil)
		if resp.StatusCode != 200 || summarize(t, body).answer != BenchAnswer(5, "hello ") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if d := time.Since(start); d < 5*20*time.Millisecond {
			t.Errorf("6 elements with 20ms between took only %v", d)
		}
	})
	t.Run("hold headers", func(t *testing.T) {
		s, c := startFake(t, Options{})
		sess := c.createSession()
		hc := &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 100 * time.Millisecond}}
		for _, hold := range []bool{true, false} {
			s.QueueScript(c.acct.CSESIDX, Scenario{Name: "slow", FirstByteDelay: time.Second, HoldHeaders: hold, Elements: []string{`{"uToken":"x"}`}})
			req := c.widgetRequest(context.Background(), "widgetStreamAssist", c.envelope("streamAssistRequest", assistRequest(sess, "q", nil)), c.token())
			resp, err := hc.Do(req)
			if hold {
				if err == nil {
					resp.Body.Close()
					t.Fatal("headers arrived although held")
				}
				continue
			}
			if err != nil {
				t.Fatalf("headers not sent before the first-byte delay: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if summarize(t, string(body)).uTokens != 1 {
				t.Errorf("body %s", body)
			}
		}
	})
}
