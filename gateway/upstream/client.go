// Package upstream is the client of Gemini Business's private "widget"
// protocol: cookies → getoxsrf → a locally minted JWT → widgetCreateSession,
// widgetAddContextFile and the streamed widgetStreamAssist, whose JSON array
// it parses incrementally into answer, thought and file events.
//
// The protocol is reverse-engineered (see docs/upstream-protocol.md), so
// every host, header value, language and timeout is configuration. Every
// failure is an *Error whose Kind tells the account pool what to do.
package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Config is everything the client needs to know about the upstream.
// Zero fields take the defaults of DefaultConfig.
type Config struct {
	// BusinessURL is the web-app host (getoxsrf), e.g. https://business.gemini.google.
	BusinessURL string
	// AuthURL is the login host (list-sessions), e.g. https://auth.business.gemini.google.
	AuthURL string
	// APIURL is the data-plane host, e.g. https://biz-discoveryengine.googleapis.com.
	APIURL string
	// Origin is sent as Origin/Referer on widget calls; the real web app's
	// origin, independent of where BusinessURL points.
	Origin string

	UserAgent      string
	AcceptLanguage string
	LanguageCode   string // streamAssist languageCode, e.g. "en-US"
	TimeZone       string // streamAssist userMetadata.timeZone, e.g. "Europe/Berlin"

	// Proxy is an http://, https:// or socks5:// URL for all upstream traffic.
	Proxy string

	ConnectTimeout   time.Duration // dial + TLS handshake
	RequestTimeout   time.Duration // whole non-streaming calls (getoxsrf, createSession)
	UploadTimeout    time.Duration // widgetAddContextFile
	FirstByteTimeout time.Duration // streamAssist: request sent → first array element
	IdleTimeout      time.Duration // streamAssist: between two elements
	// MediaTimeout replaces both stream limits on turns that may generate
	// an image or a video, which can take minutes.
	MediaTimeout time.Duration
	// DownloadTimeout bounds one download of a generated file (default
	// 180 s); DownloadBackoff is the first wait between tries (default 2 s,
	// doubling).
	DownloadTimeout time.Duration
	DownloadBackoff time.Duration

	// JWTLifetime is the exp-iat of minted tokens (the protocol uses 300 s);
	// JWTRefreshAfter is the age at which a cached token is replaced.
	JWTLifetime     time.Duration
	JWTRefreshAfter time.Duration

	// MaxElementBytes bounds one element of the streamed array.
	MaxElementBytes int

	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Transport replaces the HTTP transport (tests, benchmarks); when nil the
	// client builds one from Proxy and ConnectTimeout.
	Transport http.RoundTripper
}

// DefaultConfig returns the real service's hosts and conservative timeouts.
func DefaultConfig() Config {
	return Config{
		BusinessURL:      "https://business.gemini.google",
		AuthURL:          "https://auth.business.gemini.google",
		APIURL:           "https://biz-discoveryengine.googleapis.com",
		Origin:           "https://business.gemini.google",
		UserAgent:        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36",
		AcceptLanguage:   "en-US,en;q=0.9",
		LanguageCode:     "en-US",
		TimeZone:         "Etc/UTC",
		ConnectTimeout:   15 * time.Second,
		RequestTimeout:   30 * time.Second,
		UploadTimeout:    60 * time.Second,
		FirstByteTimeout: 120 * time.Second,
		IdleTimeout:      120 * time.Second,
		MediaTimeout:     10 * time.Minute,
		JWTLifetime:      300 * time.Second,
		JWTRefreshAfter:  270 * time.Second,
		MaxElementBytes:  64 << 20,
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	setStr := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	setDur := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	setStr(&c.BusinessURL, d.BusinessURL)
	setStr(&c.AuthURL, d.AuthURL)
	setStr(&c.APIURL, d.APIURL)
	setStr(&c.Origin, d.Origin)
	setStr(&c.UserAgent, d.UserAgent)
	setStr(&c.AcceptLanguage, d.AcceptLanguage)
	setStr(&c.LanguageCode, d.LanguageCode)
	setStr(&c.TimeZone, d.TimeZone)
	setDur(&c.ConnectTimeout, d.ConnectTimeout)
	setDur(&c.RequestTimeout, d.RequestTimeout)
	setDur(&c.UploadTimeout, d.UploadTimeout)
	setDur(&c.FirstByteTimeout, d.FirstByteTimeout)
	setDur(&c.IdleTimeout, d.IdleTimeout)
	setDur(&c.MediaTimeout, d.MediaTimeout)
	setDur(&c.JWTLifetime, d.JWTLifetime)
	setDur(&c.JWTRefreshAfter, d.JWTRefreshAfter)
	if c.JWTRefreshAfter >= c.JWTLifetime {
		c.JWTRefreshAfter = c.JWTLifetime * 9 / 10
	}
	if c.MaxElementBytes <= 0 {
		c.MaxElementBytes = d.MaxElementBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.BusinessURL = strings.TrimRight(c.BusinessURL, "/")
	c.AuthURL = strings.TrimRight(c.AuthURL, "/")
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	c.Origin = strings.TrimRight(c.Origin, "/")
}

// Validate reports a configuration that cannot work, naming the field.
func (c Config) Validate() error {
	for _, u := range []struct{ name, v string }{
		{"GEMINI_BUSINESS_URL", c.BusinessURL}, {"GEMINI_AUTH_URL", c.AuthURL}, {"GEMINI_API_URL", c.APIURL},
	} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("%s: want an http:// or https:// URL, got %q", u.name, u.v)
		}
	}
	if c.Proxy != "" {
		if _, err := parseProxy(c.Proxy); err != nil {
			return err
		}
	}
	return nil
}

func parseProxy(s string) (*url.URL, error) {
	p, err := url.Parse(s)
	if err != nil || p.Host == "" {
		return nil, fmt.Errorf("PROXY: want http://host:port, https://host:port or socks5://host:port, got an unparsable value")
	}
	switch p.Scheme {
	case "http", "https", "socks5", "socks5h":
		return p, nil
	}
	return nil, fmt.Errorf("PROXY: scheme %q is not supported (use http, https or socks5)", p.Scheme)
}

// Credentials identify one Gemini Business account. They are secrets: never
// log them, never put them in errors.
type Credentials struct {
	// AccountID keys the token cache; any stable string.
	AccountID  string
	SecureCSES string // cookie __Secure-C_SES
	HostCOSES  string // cookie __Host-C_OSES, optional
	CSESIDX    string // numeric account-session index
	ConfigID   string // UUID of the Gemini Business configuration
	// UserAgent overrides Config.UserAgent for this account when set.
	UserAgent string
}

// Client talks to the three upstream hosts. It is safe for concurrent use;
// create one per process and share it.
type Client struct {
	cfg    Config
	http   *http.Client
	tokens tokenCache
}

// New builds a client. It fails only on an invalid proxy URL.
func New(cfg Config) (*Client, error) {
	cfg.fill()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rt := cfg.Transport
	if rt == nil {
		t := &http.Transport{
			DialContext:           (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   cfg.ConnectTimeout,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
		if cfg.Proxy != "" {
			p, err := parseProxy(cfg.Proxy)
			if err != nil {
				return nil, err
			}
			t.Proxy = http.ProxyURL(p)
		}
		rt = t
	}
	c := &Client{
		cfg: cfg,
		http: &http.Client{
			Transport: rt,
			// getoxsrf answers 302 to the login page when cookies are dead;
			// following it would turn a clear "expired" into HTML noise.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.tokens.entries = make(map[string]*tokenEntry)
	return c, nil
}

// Config returns the effective configuration.
func (c *Client) Config() Config { return c.cfg }

// CloseIdleConnections releases pooled connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

const widgetPath = "/v1alpha/locations/global/"

// envelope is the body shared by every widget call.
type envelope struct {
	ConfigID         string            `json:"configId"`
	AdditionalParams map[string]string `json:"additionalParams"`

	CreateSessionRequest  *createSessionRequest  `json:"createSessionRequest,omitempty"`
	AddContextFileRequest *addContextFileRequest `json:"addContextFileRequest,omitempty"`
	StreamAssistRequest   *streamAssistRequest   `json:"streamAssistRequest,omitempty"`
	DeleteSessionRequest  *nameRequest           `json:"deleteSessionRequest,omitempty"`
	ListFilesRequest      *listFilesRequest      `json:"listSessionFileMetadataRequest,omitempty"`
}

var additionalParams = map[string]string{"token": "-"}

// call POSTs a widget method with a bearer token and decodes a JSON answer.
// A 401 refreshes the token once and retries, as the web app does.
func (c *Client) call(ctx context.Context, cr Credentials, method string, body *envelope, timeout time.Duration, out any) error {
	buf, err := json.Marshal(body)
	if err != nil {
		return &Error{Op: method, Kind: KindBadRequest, Err: err, Message: "encode request"}
	}
	for attempt := 0; ; attempt++ {
		jwt, err := c.Token(ctx, cr)
		if err != nil {
			return err
		}
		resp, err := c.post(ctx, cr, method, jwt, buf, timeout)
		if err != nil {
			return err
		}
		if resp.status == http.StatusUnauthorized && attempt == 0 {
			c.tokens.invalidate(cr.AccountID, jwt)
			continue
		}
		if resp.status/100 != 2 {
			return httpError(method, resp.status, resp.header, resp.body)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(resp.body, out); err != nil {
			return &Error{Op: method, Kind: KindTransient, Message: "undecodable response", Err: err}
		}
		return nil
	}
}

type smallResponse struct {
	status int
	header http.Header
	body   []byte
}

// maxSmallBody bounds non-streaming responses (sessions, uploads, metadata).
const maxSmallBody = 4 << 20

func (c *Client) post(ctx context.Context, cr Credentials, method, jwt string, body []byte, timeout time.Duration) (*smallResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.APIURL+widgetPath+method, bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Op: method, Kind: KindBadRequest, Err: err, Message: "build request"}
	}
	c.widgetHeaders(req.Header, cr, jwt)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, networkError(method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxSmallBody))
	if err != nil {
		return nil, networkError(method, err)
	}
	return &smallResponse{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// widgetHeaders is the minimal browser-like set the service requires.
// Accept-Encoding is deliberately left to net/http so that it negotiates
// gzip and decodes it transparently.
func (c *Client) widgetHeaders(h http.Header, cr Credentials, jwt string) {
	h.Set("Authorization", "Bearer "+jwt)
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "*/*")
	h.Set("Accept-Language", c.cfg.AcceptLanguage)
	h.Set("Origin", c.cfg.Origin)
	h.Set("Referer", c.cfg.Origin+"/")
	h.Set("User-Agent", c.userAgent(cr))
	h.Set("X-Server-Timeout", "1800")
}

func (c *Client) userAgent(cr Credentials) string {
	if cr.UserAgent != "" {
		return cr.UserAgent
	}
	return c.cfg.UserAgent
}

// redactURLError drops the URL from *url.Error: getoxsrf URLs carry the
// csesidx, which is a credential.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// tokenCache holds one entry per account; each entry has its own lock so a
// slow getoxsrf for one account never delays another.
type tokenCache struct {
	mu      sync.Mutex
	entries map[string]*tokenEntry
}

func (tc *tokenCache) entry(id string) *tokenEntry {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	e := tc.entries[id]
	if e == nil {
		e = &tokenEntry{lock: make(chan struct{}, 1)}
		tc.entries[id] = e
	}
	return e
}

func (tc *tokenCache) invalidate(id, jwt string) {
	tc.mu.Lock()
	e := tc.entries[id]
	tc.mu.Unlock()
	if e == nil {
		return
	}
	e.lock <- struct{}{}
	if e.jwt == jwt {
		e.jwt = ""
	}
	<-e.lock
}

// Forget drops the cached token of an account (deleted, or credentials changed).
func (c *Client) Forget(accountID string) {
	c.tokens.mu.Lock()
	delete(c.tokens.entries, accountID)
	c.tokens.mu.Unlock()
}

// invalidateAll drops the account's cached token whatever it is, so the next
// call fetches a fresh signing key.
func (tc *tokenCache) invalidateAll(id string) {
	e := tc.entry(id)
	e.lock <- struct{}{}
	e.jwt = ""
	<-e.lock
}
