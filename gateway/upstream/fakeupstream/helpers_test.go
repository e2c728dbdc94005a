package fakeupstream

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// mintJWT signs header and claims the way a client does (docs/upstream-protocol.md,
// "Signing in");
// it is written here, not shared with any client code.
func mintJWT(secret []byte, header, claims map[string]any) string {
	hb, _ := json.Marshal(header)
	pb, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(pb)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func stdHeader(kid string) map[string]any {
	return map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}
}

func stdClaims(csesidx string, now time.Time) map[string]any {
	return map[string]any{
		"iss": "https://business.gemini.google",
		"aud": "https://biz-discoveryengine.googleapis.com",
		"sub": "csesidx/" + csesidx,
		"iat": now.Unix(), "exp": now.Unix() + 300, "nbf": now.Unix(),
	}
}

// client is a minimal test-side client of the fake.
type client struct {
	t    testing.TB
	s    *Server
	acct Account
	hc   *http.Client
	kid  string
	key  []byte
}

// startFake starts a server with demo account 1 (and 2) and a client for
// account 1 that already holds a signing key.
func startFake(t *testing.T, opts Options) (*Server, *client) {
	t.Helper()
	if opts.Seed == 0 {
		// Layouts are random by design: every run tries new ones, and a
		// failure names the seed that reproduces it.
		opts.Seed = time.Now().UnixNano()
		t.Logf("fake upstream seed %d", opts.Seed)
	}
	s := Start(opts)
	t.Cleanup(s.Close)
	s.AddAccount(DemoAccount(1))
	s.AddAccount(DemoAccount(2))
	c := newClient(t, s, DemoAccount(1))
	c.refresh()
	return s, c
}

func newClient(t testing.TB, s *Server, a Account) *client {
	return &client{t: t, s: s, acct: a, hc: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *client) cookie() string {
	return "__Secure-C_SES=" + c.acct.SecureCSES + "; __Host-C_OSES=" + c.acct.HostCOSES
}

func (c *client) getoxsrf(cookie string) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.s.BusinessURL()+"/auth/getoxsrf?csesidx="+c.acct.CSESIDX, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return c.do(req)
}

// refresh fetches a signing key, as a client does before minting a JWT.
func (c *client) refresh() {
	c.t.Helper()
	resp, body := c.getoxsrf(c.cookie())
	if resp.StatusCode != 200 {
		c.t.Fatalf("getoxsrf: %d %s", resp.StatusCode, body)
	}
	var k struct{ XSRFToken, KeyID string }
	if err := json.Unmarshal([]byte(strings.TrimPrefix(body, ")]}'\n")), &k); err != nil {
		c.t.Fatalf("getoxsrf body %q: %v", body, err)
	}
	key, err := base64.RawURLEncoding.DecodeString(k.XSRFToken)
	if err != nil {
		c.t.Fatalf("xsrfToken: %v", err)
	}
	c.kid, c.key = k.KeyID, key
}

func (c *client) token() string {
	return mintJWT(c.key, stdHeader(c.kid), stdClaims(c.acct.CSESIDX, time.Now()))
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return resp, string(b)
}

// envelope wraps a method request in the shared widget envelope.
func (c *client) envelope(reqKey string, req any) map[string]any {
	return map[string]any{"configId": c.acct.ConfigID, "additionalParams": map[string]any{"token": "-"}, reqKey: req}
}

// widgetRequest builds a POST to a widget method with the given body.
func (c *client) widgetRequest(ctx context.Context, method string, body any, token string) *http.Request {
	c.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.s.APIURL()+"/v1alpha/locations/global/"+method, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

func (c *client) call(method, reqKey string, req any) (*http.Response, string) {
	c.t.Helper()
	return c.do(c.widgetRequest(context.Background(), method, c.envelope(reqKey, req), c.token()))
}

func (c *client) createSession() string {
	c.t.Helper()
	resp, body := c.call("widgetCreateSession", "createSessionRequest", map[string]any{"session": map[string]any{"name": "", "displayName": ""}})
	if resp.StatusCode != 200 {
		c.t.Fatalf("createSession: %d %s", resp.StatusCode, body)
	}
	var out struct{ Session struct{ Name string } }
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.Session.Name == "" {
		c.t.Fatalf("createSession body %q: %v", body, err)
	}
	return out.Session.Name
}

func (c *client) upload(session, mime string, data []byte) (*http.Response, string) {
	c.t.Helper()
	return c.call("widgetAddContextFile", "addContextFileRequest", map[string]any{
		"name": session, "fileName": "upload_1.bin", "mimeType": mime,
		"fileContents": base64.StdEncoding.EncodeToString(data),
	})
}

func assistRequest(session, query string, extra map[string]any) map[string]any {
	r := map[string]any{
		"session":              session,
		"query":                map[string]any{"parts": []any{map[string]any{"text": query}}},
		"filter":               "",
		"fileIds":              []string{},
		"answerGenerationMode": "NORMAL",
		"toolsSpec":            map[string]any{"webGroundingSpec": map[string]any{}, "toolRegistry": "default_tool_registry"},
		"languageCode":         "zh-CN",
		"userMetadata":         map[string]any{"timeZone": "Asia/Shanghai"},
		"assistSkippingMode":   "REQUEST_ASSIST",
	}
	for k, v := range extra {
		r[k] = v
	}
	return r
}

func (c *client) stream(session, query string, extra map[string]any) (*http.Response, string) {
	c.t.Helper()
	return c.call("widgetStreamAssist", "streamAssistRequest", assistRequest(session, query, extra))
}

// summary is what a client would extract from a streamAssist body.
type summary struct {
	answer, thoughts string
	states           []string
	errorCodes       []int
	errorStatuses    []string
	files            []string // fileIds
	uTokens          int
	withSAR          int
	skipReasons      []string
	violation        string
	sessions         []string // sessionInfo.session values
	answerNames      []string
	elements         int
}

type testElem struct {
	UToken string `json:"uToken"`
	Error  *struct {
		Code   int
		Status string
	} `json:"error"`
	SAR *struct {
		Answer *struct {
			State   string
			Name    string
			Replies []struct {
				GroundedContent struct {
					Content struct {
						Text    string
						Thought bool
						File    *struct{ FileID, MimeType string }
					}
				}
			}
			AssistSkippedReasons            []string
			CustomerPolicyEnforcementResult *struct {
				PolicyResults []struct {
					ModelArmorEnforcementResult struct{ ModelArmorViolation string }
				}
			}
		}
		SessionInfo *struct{ Session, QueryID, TurnID string }
	} `json:"streamAssistResponse"`
}

// summarize parses a complete body; it fails the test unless the body is
// one valid JSON array.
func summarize(t *testing.T, body string) summary {
	t.Helper()
	var raws []json.RawMessage
	if err := json.Unmarshal([]byte(body), &raws); err != nil {
		t.Fatalf("body is not a JSON array: %v\n%s", err, body)
	}
	var s summary
	s.elements = len(raws)
	for _, raw := range raws {
		var e testElem
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("element %s: %v", raw, err)
		}
		if e.UToken != "" {
			s.uTokens++
		}
		if e.Error != nil {
			s.errorCodes = append(s.errorCodes, e.Error.Code)
			s.errorStatuses = append(s.errorStatuses, e.Error.Status)
		}
		if e.SAR == nil {
			continue
		}
		s.withSAR++
		if si := e.SAR.SessionInfo; si != nil && si.Session != "" {
			s.sessions = append(s.sessions, si.Session)
		}
		a := e.SAR.Answer
		if a == nil {
			continue
		}
		s.states = append(s.states, a.State)
		if a.Name != "" {
			s.answerNames = append(s.answerNames, a.Name)
		}
		s.skipReasons = append(s.skipReasons, a.AssistSkippedReasons...)
		if p := a.CustomerPolicyEnforcementResult; p != nil && len(p.PolicyResults) > 0 {
			s.violation = p.PolicyResults[0].ModelArmorEnforcementResult.ModelArmorViolation
		}
		for _, r := range a.Replies {
			ct := r.GroundedContent.Content
			switch {
			case ct.File != nil:
				s.files = append(s.files, ct.File.FileID)
			case ct.Thought:
				s.thoughts += ct.Text
			default:
				s.answer += ct.Text
			}
		}
	}
	return s
}

func errorStatus(t *testing.T, body string) string {
	t.Helper()
	var e struct{ Error struct{ Status string } }
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not a Google error body: %v\n%s", err, body)
	}
	return e.Error.Status
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testClock is a settable clock, safe for the server's goroutines.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{t: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
