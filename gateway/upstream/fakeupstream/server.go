package fakeupstream

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Host names used in Request.Host: the three real upstream hosts the fake
// imitates under one listener.
const (
	HostBusiness = "business" // business.gemini.google
	HostAuth     = "auth"     // auth.business.gemini.google
	HostAPI      = "api"      // biz-discoveryengine.googleapis.com
)

// File origins as reported by widgetListSessionFileMetadata.
const (
	OriginUserUploaded = "USER_UPLOADED"
	OriginAIGenerated  = "AI_GENERATED"
)

// Limits that keep memory bounded under load tests.
const (
	// maxRecordedBody caps the body kept in Requests(); uploads are still
	// stored in full in their session.
	maxRecordedBody = 64 << 10
	// maxRequestBody refuses absurd request bodies outright.
	maxRequestBody = 256 << 20
	// maxTurnsPerSession bounds the turns remembered per session (the
	// oldest go first).
	maxTurnsPerSession = 1000
)

// Options configures a Server. The zero value is a realistic default.
type Options struct {
	// Seed seeds all randomness (separators, split offsets, ids, keys);
	// 0 = time-based. Two servers with the same seed and the same
	// sequence of calls produce the same ids and layouts.
	Seed int64
	// RequireHostCOSES makes getoxsrf also require __Host-C_OSES.
	RequireHostCOSES bool
	// RotateKeys mints a new signing key and keyId on every getoxsrf; the
	// old ones stay valid until their expiry.
	RotateKeys bool
	// Models lists the valid modelIds; nil = the five known ids.
	Models []string
	// ModelErrorHTTP answers an invalid modelId with HTTP 400 instead of
	// an error element inside a 200 array.
	ModelErrorHTTP bool
	// SplitWrites writes each element in several small random pieces,
	// flushing each, and deliberately cuts multi-byte UTF-8 characters.
	SplitWrites bool
	// PlainSeparators disables the randomised separator and whitespace
	// style: compact elements separated by a bare ",".
	PlainSeparators bool
	// FirstByteDelay waits before writing "[" (scenarios may override).
	FirstByteDelay time.Duration
	// ElementDelay waits between elements (scenarios may override).
	ElementDelay time.Duration
	// AllowedMIME is the upload allow-list; nil = image/jpeg, image/png,
	// image/webp, image/gif, application/pdf, text/plain.
	AllowedMIME []string
	// DefaultScenario is used when nothing more specific picks one;
	// "" = "normal".
	DefaultScenario string
	// BenchDeltas is the number of answer deltas of the "bench" scenario
	// (default 20).
	BenchDeltas int
	// BenchDeltaText is the text of each "bench" delta (default "hello ").
	BenchDeltaText string
	// Now is the clock (default time.Now). JWT times, key expiry and
	// timestamps in bodies use it; delays use real time.
	Now func() time.Time

	// Gzip compresses every streamAssist body when the request accepts
	// gzip, as Google's front end does; Scenario.Gzip does it per call.
	Gzip bool
	// DownloadBase64 makes every downloadFile answer base64 text instead
	// of raw bytes (the "image-gen-b64" scenario does it per file).
	DownloadBase64 bool
	// MaxRecordedRequests bounds Requests(): 0 = keep all, >0 = keep the
	// most recent N, <0 = record nothing (long load tests).
	MaxRecordedRequests int

	// SignInLifetime is the hard limit of a sign-in, counted from
	// AddAccount or SignIn; past it getoxsrf answers 401 EXPIRED_SIGN_IN.
	// 0 = sign-ins never end.
	SignInLifetime time.Duration
	// CookieStaleAfter is the age at which cookies must be refreshed:
	// getoxsrf then redirects to refreshcookies. 0 = never stale.
	CookieStaleAfter time.Duration
	// RotationGrace is how long the previous cookies still work after a
	// rotation. 0 = not at all.
	RotationGrace time.Duration
	// CookieLifetime is the Expires of issued cookies (capped at the end of
	// the sign-in); 0 = 24 h.
	CookieLifetime time.Duration
	// Media configures media generation and downloads (media.go).
	Media MediaOptions
}

// Account is one upstream account as the fake knows it.
type Account struct {
	SecureCSES string // value of cookie __Secure-C_SES (required match)
	HostCOSES  string // value of cookie __Host-C_OSES (checked only if Options.RequireHostCOSES)
	CSESIDX    string // numeric; JWT subject "csesidx/<CSESIDX>"
	ConfigID   string // UUID; widget calls' configId must belong to the token's account, else 401
	Expired    bool   // getoxsrf → 401 EXPIRED_SIGN_IN
	Banned     bool   // widget calls → 403 PERMISSION_DENIED
	QuotaLeft  int    // <0 = unlimited; each successful streamAssist consumes 1; at 0 → HTTP 429
	Scenario   string // default streamAssist scenario of this account ("" = Options.DefaultScenario)
	AuthMode   string // "" normal; "redirect" → getoxsrf 302; "nokey" → 200 without keyId/xsrfToken
	// SessionRefusals answers this many widgetCreateSession calls with a
	// 400 FAILED_PRECONDITION, as an account in a bad state does.
	SessionRefusals int
	ImageQuota      int // images the account may generate (0 = unlimited), then an in-body 429
	VideoQuota      int // videos likewise
}

// Auth modes for Account.AuthMode.
const (
	AuthModeRedirect = "redirect"
	AuthModeNoKey    = "nokey"
)

// Request is one HTTP request the fake received, for assertions.
type Request struct {
	Host          string // HostBusiness, HostAuth, HostAPI, or "" for an unknown prefix
	Method        string
	Path          string // path on that host, prefix removed (e.g. "/auth/getoxsrf")
	RawQuery      string
	Header        http.Header
	Body          []byte // at most 64 KiB
	BodyTruncated bool   // the body was longer than what Body holds
	At            time.Time
}

// Session is a snapshot of one upstream session.
type Session struct {
	Name        string // collections/default_collection/engines/agentspace-engine/sessions/<id>
	FullName    string // the projects/<n>/locations/global/… form of Name
	ConfigID    string
	CSESIDX     string
	DisplayName string
	Turns       []Turn
	Files       []File
	Deleted     bool
}

// Turn is one accepted widgetStreamAssist call (HTTP 200) on a session.
type Turn struct {
	Query               string // concatenated text parts
	FileIDs             []string
	ModelID             string // "" when omitted (auto)
	HasGenerationConfig bool   // assistGenerationConfig was present, even if empty
	LanguageCode        string
	TimeZone            string
	ToolsSpec           json.RawMessage // as sent; nil when absent
	Scenario            string          // scenario that answered
}

// File is a file attached to a session, uploaded or generated.
type File struct {
	ID     string
	MIME   string
	Name   string
	Origin string // OriginUserUploaded or OriginAIGenerated
	Data   []byte
}

// Server is the fake upstream. Create it with New (handler only) or Start
// (listening on loopback).
type Server struct {
	opts          Options
	now           func() time.Time
	models        map[string]bool
	allowedMIME   map[string]bool
	projectNumber string
	env           *builtinEnv

	rngMu sync.Mutex // guards rng only; never held while taking mu
	rng   *rand.Rand

	mu        sync.Mutex
	accounts  map[string]*accountState // by CSESIDX
	keys      map[string]*signingKey   // by keyId
	keySeq    uint64
	sessions  map[string]*sessionState // by numeric id
	seq       uint64                   // creation order of sessions
	requests  []Request
	getoxsrfs map[string]int // by csesidx query value, including failures
	// cdn holds redirect targets of downloads; primaryFailures counts the
	// 404s of the primary download path (media.go).
	cdn             map[string]cdnLink
	primaryFailures int

	active atomic.Int64
	gzPool sync.Pool // of *gzip.Writer

	done      chan struct{} // closed by Close: unblocks delays and stalls
	closeOnce sync.Once
	ts        *httptest.Server
	base      string
}

type accountState struct {
	Account
	curKey *signingKey
	queue  []queued
	// pending401 is set by a RevokeKeys scenario ("http-401-once"):
	// streamAssist refuses keys with seq <= revokedUpTo until the client
	// comes back with a newer key, which then gets the normal answer.
	pending401  bool
	revokedUpTo uint64

	// The sign-in lifecycle (lifecycle.go).
	signedInAt time.Time // when the current sign-in was made
	cookiesAt  time.Time // when the current cookies were issued
	prevSES    string    // the cookies before the last rotation,
	prevCOSES  string    // accepted until prevUntil
	prevUntil  time.Time
	signIns    int
	rotations  int
	// imagesUsed and videosUsed count generated media (media.go).
	imagesUsed, videosUsed int
}

type queued struct {
	name   string
	script *Scenario
}

type signingKey struct {
	id      string
	secret  []byte
	csesidx string
	seq     uint64
	expires time.Time
}

type sessionState struct {
	id          string
	seq         uint64
	csesidx     string
	configID    string
	displayName string
	created     time.Time
	updated     time.Time
	turns       []Turn
	files       []*fileState
	deleted     bool
}

type fileState struct {
	File
	uploaded time.Time
	base64DL bool
}

// DefaultModels are the modelIds accepted when Options.Models is nil.
func DefaultModels() []string {
	return []string{"gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro-preview", "gemini-3-flash-preview", "gemini-3.1-pro-preview"}
}

// DefaultAllowedMIME is the upload allow-list used when Options.AllowedMIME is nil.
func DefaultAllowedMIME() []string {
	return append([]string{"image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf", "text/plain"}, documentMIME...)
}

// New returns a Server that is not listening; serve Handler() yourself.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BenchDeltas <= 0 {
		opts.BenchDeltas = 20
	}
	if opts.BenchDeltaText == "" {
		opts.BenchDeltaText = "hello "
	}
	if opts.Models == nil {
		opts.Models = DefaultModels()
	}
	if opts.AllowedMIME == nil {
		opts.AllowedMIME = DefaultAllowedMIME()
	}
	seed := opts.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	s := &Server{
		opts:        opts,
		now:         opts.Now,
		models:      map[string]bool{},
		allowedMIME: map[string]bool{},
		rng:         rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)),
		accounts:    map[string]*accountState{},
		keys:        map[string]*signingKey{},
		sessions:    map[string]*sessionState{},
		getoxsrfs:   map[string]int{},
		done:        make(chan struct{}),
	}
	for _, m := range opts.Models {
		s.models[m] = true
	}
	for _, m := range opts.AllowedMIME {
		s.allowedMIME[strings.ToLower(m)] = true
	}
	s.projectNumber = strconv.FormatUint(100000000000+s.randUint64()%900000000000, 10)
	s.env = newBuiltinEnv(opts.BenchDeltas, opts.BenchDeltaText)
	return s
}

// Start returns a Server listening on a random loopback port.
func Start(opts Options) *Server {
	s := New(opts)
	s.ts = httptest.NewServer(s.Handler())
	s.base = s.ts.URL
	return s
}

// URL is the base URL of a started server, e.g. http://127.0.0.1:34567
// ("" for a server made with New).
func (s *Server) URL() string { return s.base }

// BusinessURL is the base URL the client uses for business.gemini.google.
func (s *Server) BusinessURL() string { return s.base + "/" + HostBusiness }

// AuthURL is the base URL the client uses for auth.business.gemini.google.
func (s *Server) AuthURL() string { return s.base + "/" + HostAuth }

// APIURL is the base URL the client uses for biz-discoveryengine.googleapis.com.
func (s *Server) APIURL() string { return s.base + "/" + HostAPI }

// ProjectNumber is the project number used in projects/<n>/… names.
func (s *Server) ProjectNumber() string { return s.projectNumber }

// Close aborts running streams (stalls and delays end at once) and, for a
// started server, stops listening and waits for handlers to return.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	if s.ts != nil {
		// A handler blocked writing to a client that stopped reading would
		// otherwise keep httptest's Close waiting for ever.
		s.ts.CloseClientConnections()
		s.ts.Close()
	}
}

// Handler returns the HTTP handler serving all three hosts.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// ActiveStreams is the number of widgetStreamAssist handlers running now.
func (s *Server) ActiveStreams() int { return int(s.active.Load()) }

// AddAccount adds an account, replacing one with the same CSESIDX. It
// panics on an account that could never authenticate, so that a broken
// test fixture fails where it is written.
func (s *Server) AddAccount(a Account) {
	if a.CSESIDX == "" || strings.Trim(a.CSESIDX, "0123456789") != "" {
		panic(fmt.Sprintf("fakeupstream: AddAccount: CSESIDX %q is not numeric", a.CSESIDX))
	}
	if a.SecureCSES == "" || a.ConfigID == "" {
		panic("fakeupstream: AddAccount: SecureCSES and ConfigID are required")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[a.CSESIDX] = &accountState{Account: a, signedInAt: now, cookiesAt: now}
}

// UpdateAccount changes an account in place (ban it, expire it, set its
// quota...). The CSESIDX cannot change. It panics on an unknown account.
func (s *Server) UpdateAccount(csesidx string, fn func(*Account)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.accounts[csesidx]
	if st == nil {
		panic(fmt.Sprintf("fakeupstream: UpdateAccount: unknown csesidx %q", csesidx))
	}
	ses := st.SecureCSES
	fn(&st.Account)
	st.CSESIDX = csesidx
	if st.SecureCSES != ses {
		st.cookiesAt = s.now() // new cookies: fresh
	}
}

// Account returns a copy of an account's current state (for example to
// read QuotaLeft).
func (s *Server) Account(csesidx string) (Account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.accounts[csesidx]
	if st == nil {
		return Account{}, false
	}
	return st.Account, true
}

// QueueScenario makes the next streamAssist calls of that account use the
// named builtin scenarios, in order, before falling back to the usual
// choice. It panics on an unknown name.
func (s *Server) QueueScenario(csesidx string, names ...string) {
	for _, n := range names {
		if !IsBuiltin(n) {
			panic(fmt.Sprintf("fakeupstream: QueueScenario: unknown scenario %q", n))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.mustAccount(csesidx)
	for _, n := range names {
		st.queue = append(st.queue, queued{name: n})
	}
}

// QueueScript makes the next streamAssist call of that account (after
// those already queued) answer with a hand-built scenario.
func (s *Server) QueueScript(csesidx string, sc Scenario) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.mustAccount(csesidx)
	// Copy what the caller could still modify after queueing.
	cp := sc
	cp.Elements = slices.Clone(sc.Elements)
	cp.Files = slices.Clone(sc.Files)
	cp.Header = sc.Header.Clone()
	st.queue = append(st.queue, queued{name: sc.Name, script: &cp})
}

func (s *Server) mustAccount(csesidx string) *accountState {
	st := s.accounts[csesidx]
	if st == nil {
		panic(fmt.Sprintf("fakeupstream: unknown csesidx %q", csesidx))
	}
	return st
}

// Requests returns every request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// GetoxsrfCount is the number of getoxsrf calls made with that csesidx,
// successful or not.
func (s *Server) GetoxsrfCount(csesidx string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.getoxsrfs[csesidx]
}

// Sessions returns snapshots of the sessions created by that account,
// oldest first, deleted ones included.
func (s *Server) Sessions(csesidx string) []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*sessionState
	for _, ss := range s.sessions {
		if ss.csesidx == csesidx {
			list = append(list, ss)
		}
	}
	slices.SortFunc(list, func(a, b *sessionState) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Session, 0, len(list))
	for _, ss := range list {
		out = append(out, s.snapshot(ss))
	}
	return out
}

// Session returns a snapshot of one session by either name form.
func (s *Server) Session(name string) (Session, bool) {
	id, ok := s.parseSessionName(name)
	if !ok {
		return Session{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[id]
	if ss == nil {
		return Session{}, false
	}
	return s.snapshot(ss), true
}

func (s *Server) snapshot(ss *sessionState) Session {
	out := Session{
		Name:        shortSessionName(ss.id),
		FullName:    s.fullSessionName(ss.id),
		ConfigID:    ss.configID,
		CSESIDX:     ss.csesidx,
		DisplayName: ss.displayName,
		Deleted:     ss.deleted,
	}
	for _, t := range ss.turns {
		t.FileIDs = slices.Clone(t.FileIDs)
		out.Turns = append(out.Turns, t)
	}
	for _, f := range ss.files {
		cp := f.File
		cp.Data = bytes.Clone(f.Data)
		out.Files = append(out.Files, cp)
	}
	return out
}

// Reset forgets sessions, recorded requests, getoxsrf counts, queued
// scenarios and pending 401s, but keeps accounts and signing keys (so JWTs
// a client has cached stay valid across test cases).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions = map[string]*sessionState{}
	s.requests = nil
	s.getoxsrfs = map[string]int{}
	for _, st := range s.accounts {
		st.queue = nil
		st.pending401 = false
	}
}

// serveHTTP records the request and routes it by host prefix.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	host, rest := splitHost(r.URL.Path)
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		http.Error(w, "fake upstream: reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.record(host, rest, r, body)
	if len(body) > maxRequestBody {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	switch host {
	case HostBusiness:
		s.serveBusiness(w, r, rest)
	case HostAuth:
		s.serveAuthHost(w, r, rest)
	case HostAPI:
		s.serveAPI(w, r, rest, body)
	default:
		// A call with a base URL missing its host prefix lands here; a
		// plain 404 makes that mistake obvious.
		http.NotFound(w, r)
	}
}

func splitHost(p string) (host, rest string) {
	for _, h := range []string{HostBusiness, HostAuth, HostAPI} {
		prefix := "/" + h
		if p == prefix {
			return h, "/"
		}
		if strings.HasPrefix(p, prefix+"/") {
			return h, p[len(prefix):]
		}
	}
	return "", p
}

func (s *Server) record(host, path string, r *http.Request, body []byte) {
	if s.opts.MaxRecordedRequests < 0 {
		return
	}
	rec := Request{
		Host:     host,
		Method:   r.Method,
		Path:     path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		At:       s.now(),
	}
	if len(body) > maxRecordedBody {
		rec.Body = bytes.Clone(body[:maxRecordedBody])
		rec.BodyTruncated = true
	} else if len(body) > 0 {
		rec.Body = bytes.Clone(body)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
	if n := s.opts.MaxRecordedRequests; n > 0 && len(s.requests) > n {
		// Drop the oldest half of the overflow at once so that trimming is
		// amortised rather than a copy per request.
		drop := len(s.requests) - n
		if drop < n/2 {
			drop = min(n/2+1, len(s.requests))
		}
		s.requests = slices.Delete(s.requests, 0, drop)
	}
}

// randUint64 draws from the server's seeded generator.
func (s *Server) randUint64() uint64 {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Uint64()
}

// newRand derives an independent generator for one request, so that a
// long stream does not hold the server-wide lock for every decision.
func (s *Server) newRand() *rand.Rand {
	s.rngMu.Lock()
	a, b := s.rng.Uint64(), s.rng.Uint64()
	s.rngMu.Unlock()
	return rand.New(rand.NewPCG(a, b))
}

func (s *Server) randBytes(n int) []byte {
	b := make([]byte, n)
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	for i := range b {
		b[i] = byte(s.rng.Uint32())
	}
	return b
}

// randDigits returns n decimal digits without a leading zero.
func (s *Server) randDigits(n int) string {
	var sb strings.Builder
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	sb.WriteByte(byte('1' + s.rng.IntN(9)))
	for i := 1; i < n; i++ {
		sb.WriteByte(byte('0' + s.rng.IntN(10)))
	}
	return sb.String()
}

func (s *Server) randHex(nbytes int) string {
	const hexdigits = "0123456789abcdef"
	b := s.randBytes(nbytes)
	out := make([]byte, 0, 2*nbytes)
	for _, c := range b {
		out = append(out, hexdigits[c>>4], hexdigits[c&15])
	}
	return string(out)
}

// closed reports whether Close has been called.
func (s *Server) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}
