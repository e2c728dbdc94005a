package fakeupstream

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

type streamAssistRequest struct {
	Session *string `json:"session"`
	Query   *struct {
		Parts []json.RawMessage `json:"parts"`
	} `json:"query"`
	FileIDs      []string `json:"fileIds"`
	LanguageCode string   `json:"languageCode"`
	UserMetadata *struct {
		TimeZone string `json:"timeZone"`
	} `json:"userMetadata"`
	AssistGenerationConfig *struct {
		ModelID string `json:"modelId"`
	} `json:"assistGenerationConfig"`
	ToolsSpec json.RawMessage `json:"toolsSpec"`
}

type queryPart struct {
	Text       *string `json:"text"`
	InlineData *struct {
		MimeType string `json:"mimeType"`
		Data     string `json:"data"`
	} `json:"inlineData"`
}

// admission is what the locked part of streamAssist decided.
type admission struct {
	status  int    // non-zero: answer with this HTTP error
	errBody string // body of that error
	reason  string // debug header for 401s
	sc      Scenario
	vars    *strings.Replacer
}

func (s *Server) streamAssist(w http.ResponseWriter, r *http.Request, c caller, req json.RawMessage) {
	var body streamAssistRequest
	if err := json.Unmarshal(req, &body); err != nil {
		badRequest(w, "Invalid streamAssistRequest: "+err.Error())
		return
	}
	if body.Session == nil || *body.Session == "" {
		badRequest(w, "streamAssistRequest.session is required")
		return
	}
	if body.Query == nil || len(body.Query.Parts) == 0 {
		badRequest(w, "streamAssistRequest.query.parts is required")
		return
	}
	var q strings.Builder
	for i, raw := range body.Query.Parts {
		var p queryPart
		if err := json.Unmarshal(raw, &p); err != nil || (p.Text == nil && p.InlineData == nil) {
			badRequest(w, fmt.Sprintf("streamAssistRequest.query.parts[%d] has neither text nor inlineData", i))
			return
		}
		if p.Text != nil {
			q.WriteString(*p.Text)
		}
	}
	turn := Turn{
		Query:               q.String(),
		FileIDs:             slices.Clone(body.FileIDs),
		HasGenerationConfig: body.AssistGenerationConfig != nil,
		LanguageCode:        body.LanguageCode,
		ToolsSpec:           body.ToolsSpec,
	}
	if body.AssistGenerationConfig != nil {
		turn.ModelID = body.AssistGenerationConfig.ModelID
	}
	if body.UserMetadata != nil {
		turn.TimeZone = body.UserMetadata.TimeZone
	}

	ad := s.admit(c, *body.Session, turn)
	switch {
	case ad.status == http.StatusUnauthorized:
		w.Header().Set("X-Fake-Upstream-Reason", ad.reason)
		writeRawError(w, ad.status, ad.errBody)
	case ad.status != 0:
		writeRawError(w, ad.status, ad.errBody)
	default:
		s.writeScenario(w, r, ad.sc, ad.vars)
	}
}

// admit does, under one lock, everything that must be consistent with
// concurrent calls: session and file checks, the pending 401, the quota,
// the choice of scenario and recording the turn.
func (s *Server) admit(c caller, sessionName string, turn Turn) admission {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, refused := s.checkTurnLocked(c, sessionName, turn)
	if refused != nil {
		return *refused
	}
	st := s.accounts[c.account.CSESIDX]
	forceNormal := false
	if st.pending401 {
		if c.keySeq <= st.revokedUpTo {
			return admission{status: http.StatusUnauthorized, errBody: UnauthenticatedBody, reason: "signing key revoked by http-401-once; fetch a new one via getoxsrf"}
		}
		forceNormal = true
	}
	if st.QuotaLeft == 0 {
		return admission{status: http.StatusTooManyRequests, errBody: QuotaExhaustedBody}
	}
	st.pending401 = false

	sc, refused := s.chooseScenarioLocked(st, ss, turn, forceNormal)
	if refused != nil {
		return *refused
	}
	pairs := s.placeholdersLocked(ss)
	if sc.Status == 0 || sc.Status == http.StatusOK {
		pairs = s.recordTurnLocked(st, ss, sc, turn, now, pairs)
	}
	if sc.RevokeKeys {
		st.pending401 = true
		st.revokedUpTo = s.keySeq
	}
	return admission{sc: sc, vars: strings.NewReplacer(pairs...)}
}

// checkTurnLocked finds the turn's session and checks its files and
// model. A non-nil admission is the answer instead: an HTTP error, or
// the error element a refused model gets.
func (s *Server) checkTurnLocked(c caller, sessionName string, turn Turn) (*sessionState, *admission) {
	ss := s.lookupSessionLocked(sessionName, c.account.CSESIDX)
	if ss == nil {
		return nil, &admission{status: http.StatusNotFound, errBody: errorJSON(404, "NOT_FOUND", fmt.Sprintf("Session %s not found.", sessionName))}
	}
	for _, id := range turn.FileIDs {
		if !slices.ContainsFunc(ss.files, func(f *fileState) bool { return f.ID == id }) {
			return nil, &admission{status: http.StatusBadRequest, errBody: errorJSON(400, "INVALID_ARGUMENT", fmt.Sprintf("File %s does not belong to session %s.", id, sessionName))}
		}
	}
	if turn.ModelID != "" && !s.models[turn.ModelID] {
		msg := "model id: " + turn.ModelID + " is invalid"
		if s.opts.ModelErrorHTTP {
			return nil, &admission{status: http.StatusBadRequest, errBody: errorJSON(400, "INVALID_ARGUMENT", msg)}
		}
		// TT's observation: the error arrives as an element of a 200 array.
		return nil, &admission{sc: Scenario{Name: "invalid-model", Elements: []string{errorJSON(400, "INVALID_ARGUMENT", msg)}}}
	}
	return ss, nil
}

// chooseScenarioLocked picks the turn's scenario: the normal answer right
// after a revoked key was replaced, else the account's queue, else a
// directive in the query, the account's scenario, the server's default or
// the normal answer. A non-nil admission is an error to answer instead.
func (s *Server) chooseScenarioLocked(st *accountState, ss *sessionState, turn Turn, forceNormal bool) (Scenario, *admission) {
	var sc Scenario
	var ok bool
	switch {
	case forceNormal:
		sc, ok = s.env.builtin(ScenarioNormal, turn.Query)
	case len(st.queue) > 0:
		item := st.queue[0]
		st.queue = st.queue[1:]
		if item.script != nil {
			sc, ok = *item.script, true
		} else {
			sc, ok = s.scenarioFor(item.name, ss, turn)
		}
	default:
		name, found := directive(turn.Query)
		switch {
		case found:
		case st.Scenario != "":
			name = st.Scenario
		case s.opts.DefaultScenario != "":
			name = s.opts.DefaultScenario
		default:
			name = ScenarioNormal
		}
		if msc, mad, handled := s.mediaScenarioLocked(st, turn, name, found); handled {
			if mad != nil {
				return Scenario{}, mad
			}
			return msc, nil
		}
		sc, ok = s.scenarioFor(name, ss, turn)
		if !ok {
			return Scenario{}, &admission{status: http.StatusBadRequest, errBody: errorJSON(400, "INVALID_ARGUMENT", fmt.Sprintf("fake upstream: unknown scenario %q", name))}
		}
	}
	if !ok {
		return Scenario{}, &admission{status: http.StatusInternalServerError, errBody: errorJSON(500, "INTERNAL", "fake upstream: queued scenario vanished")}
	}
	return sc, nil
}

// placeholdersLocked are the replacer pairs of one answer's names, ids
// and tokens (fresh random ones for each turn).
func (s *Server) placeholdersLocked(ss *sessionState) []string {
	full := s.fullSessionName(ss.id)
	return []string{
		PlaceholderSession, full,
		PlaceholderSessionShort, shortSessionName(ss.id),
		PlaceholderAnswerName, full + "/assistAnswers/" + s.randDigits(19),
		PlaceholderQueryID, "projects/" + s.projectNumber + "/locations/global/questions/" + s.uuid(),
		PlaceholderTurnID, s.uuid(),
		PlaceholderUToken, base64.RawURLEncoding.EncodeToString(s.randBytes(9)),
		PlaceholderAssistToken, base64.RawURLEncoding.EncodeToString(s.randBytes(21)),
	}
}

// recordTurnLocked counts an answered turn against the quota, records it
// in the session and stores the files it generates, adding their ids to
// pairs.
func (s *Server) recordTurnLocked(st *accountState, ss *sessionState, sc Scenario, turn Turn, now time.Time, pairs []string) []string {
	if st.QuotaLeft > 0 {
		st.QuotaLeft--
	}
	turn.Scenario = sc.Name
	if len(ss.turns) >= maxTurnsPerSession {
		// Load tests reuse one session for ever; keep the recent past.
		ss.turns = slices.Delete(ss.turns, 0, len(ss.turns)-maxTurnsPerSession+1)
	}
	ss.turns = append(ss.turns, turn)
	ss.updated = now
	for i, gf := range sc.Files {
		id := gf.ID
		if id == "" {
			id = s.randHex(8)
		}
		ss.files = append(ss.files, &fileState{
			File:     File{ID: id, MIME: gf.MIME, Name: gf.Name, Origin: OriginAIGenerated, Data: gf.Data},
			uploaded: now,
			base64DL: gf.Base64Download,
		})
		pairs = append(pairs, FileIDPlaceholder(i), id)
	}
	return pairs
}

// uuid returns a random RFC 4122 version-4 UUID string; with s.mu or
// without, it only takes rngMu.
func (s *Server) uuid() string {
	return formatUUID(s.randBytes(16))
}

func formatUUID(b []byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexdigits = "0123456789abcdef"
	var out []byte
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexdigits[c>>4], hexdigits[c&15])
	}
	return string(out)
}

// statusName maps an HTTP status to the google.rpc code name.
func statusName(code int) string {
	switch code {
	case 400:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 409:
		return "ABORTED"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case 500:
		return "INTERNAL"
	case 501:
		return "UNIMPLEMENTED"
	case 503:
		return "UNAVAILABLE"
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	return "UNKNOWN"
}

// sleep waits d unless the client goes away or the server closes; it
// reports whether the stream should go on.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil && !s.closed()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// stop ends a handler that sleep interrupted: when the server is closing,
// the connection is aborted so that the client sees a broken stream, not a
// clean end; when the client left there is nobody to tell.
func (s *Server) stop() {
	if s.closed() {
		panic(http.ErrAbortHandler)
	}
}

func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok && strings.Trim(q, "0.") == "" {
			return false // q=0 refuses it
		}
		return true
	}
	return false
}

// writeScenario writes a scenario's response: an HTTP error, or the
// streamed array (writeArrayHead, then writeElements).
func (s *Server) writeScenario(w http.ResponseWriter, r *http.Request, sc Scenario, vars *strings.Replacer) {
	ctx := r.Context()
	firstDelay := sc.FirstByteDelay
	if firstDelay == 0 {
		firstDelay = s.opts.FirstByteDelay
	}
	for k, vs := range sc.Header {
		w.Header()[http.CanonicalHeaderKey(k)] = slices.Clone(vs)
	}
	status := sc.Status
	if status == 0 {
		status = http.StatusOK
	}
	if status != http.StatusOK || sc.Body != "" {
		if !s.sleep(ctx, firstDelay) {
			s.stop()
			return
		}
		body := sc.Body
		if vars != nil {
			body = vars.Replace(body)
		}
		if body == "" {
			body = errorJSON(status, statusName(status), http.StatusText(status))
		}
		writeRawError(w, status, body)
		return
	}

	rc := http.NewResponseController(w)
	useGzip := (sc.Gzip || s.opts.Gzip) && acceptsGzip(r.Header.Get("Accept-Encoding"))
	if !s.writeArrayHead(ctx, w, rc, sc, useGzip, firstDelay) {
		s.stop()
		return
	}
	sw := &streamWriter{
		out:   w,
		rc:    rc,
		rng:   s.newRand(),
		split: s.opts.SplitWrites,
		limit: sc.TruncateAfter,
	}
	if useGzip {
		sw.gz = s.getGzip(w)
		defer s.gzPool.Put(sw.gz)
		sw.out = sw.gz
	}
	s.writeElements(ctx, sw, sc, vars)
}

// writeArrayHead sends the 200 headers of a streamed answer, waiting the
// first-byte delay after them (or, with HoldHeaders, before). false: the
// request or the server ended during the wait.
func (s *Server) writeArrayHead(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, sc Scenario, useGzip bool, firstDelay time.Duration) bool {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("Vary", "Origin, X-Origin, Referer")
	h.Set("X-Content-Type-Options", "nosniff")
	if useGzip {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	}
	if sc.HoldHeaders && !s.sleep(ctx, firstDelay) {
		return false
	}
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	return sc.HoldHeaders || s.sleep(ctx, firstDelay)
}

// writeElements writes the array itself: "[", the elements with the
// element delay between them (in random layouts, unless
// PlainSeparators), and "]" — or, for a stalling scenario, silence until
// the request or the server ends.
func (s *Server) writeElements(ctx context.Context, sw *streamWriter, sc Scenario, vars *strings.Replacer) {
	elemDelay := sc.ElementDelay
	if elemDelay == 0 {
		elemDelay = s.opts.ElementDelay
	}
	plain := s.opts.PlainSeparators
	chunk := make([]byte, 0, 1024)
	if plain || sw.rng.IntN(2) == 0 {
		chunk = append(chunk, '[')
	} else {
		chunk = append(chunk, "[\n"...)
	}
	for i, raw := range sc.Elements {
		if i > 0 {
			if !s.sleep(ctx, elemDelay) {
				s.stop()
				return
			}
			chunk = append(chunk, sw.separator(plain)...)
		}
		pretty := !plain && sw.rng.IntN(2) == 0
		chunk = append(chunk, formatElement(sc.prepared, i, raw, vars, pretty)...)
		if err := sw.emit(chunk); err != nil {
			return
		}
		chunk = chunk[:0]
	}
	if sc.Stall {
		if len(sc.Elements) == 0 {
			if err := sw.emit(chunk); err != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
		case <-s.done:
		}
		s.stop()
		return
	}
	if !plain {
		chunk = append(chunk, [...]string{"", "\n", "\r\n"}[sw.rng.IntN(3)]...)
	}
	chunk = append(chunk, ']')
	if err := sw.emit(chunk); err != nil {
		return
	}
	if sw.gz != nil {
		_ = sw.gz.Close()
		_ = sw.rc.Flush()
	}
}

func formatElement(p *preparedElems, i int, raw string, vars *strings.Replacer, pretty bool) []byte {
	// The prepared forms are used only while the element is unchanged, so a
	// script built from Builtin("bench") and then edited is honoured.
	if p != nil && i < len(p.compact) && p.raw[i] == raw {
		if pretty {
			return p.pretty[i]
		}
		return p.compact[i]
	}
	if vars != nil && strings.Contains(raw, "{{") {
		raw = vars.Replace(raw)
	}
	if pretty {
		return indent(raw)
	}
	return compact(raw)
}

// streamWriter writes the body of one stream, flushing as it goes.
type streamWriter struct {
	out   io.Writer // the ResponseWriter, or gz over it
	gz    *gzip.Writer
	rc    *http.ResponseController
	rng   *rand.Rand
	split bool
	limit int // TruncateAfter
	n     int // body bytes written so far, before compression
}

// separator picks one of the separators seen or plausible between
// elements (docs/upstream-protocol.md, "The streamed answer" and "What is
// uncertain").
func (sw *streamWriter) separator(plain bool) string {
	if plain {
		return ","
	}
	seps := [...]string{",\r\n", "\n,\r\n", ",", ",\n", "\n,\n"}
	return seps[sw.rng.IntN(len(seps))]
}

// emit writes b, either at once or in small random pieces, flushing after
// each write so that the client really receives them separately.
func (sw *streamWriter) emit(b []byte) error {
	if !sw.split {
		return sw.piece(b)
	}
	prev := 0
	for _, cut := range splitPoints(sw.rng, b) {
		if err := sw.piece(b[prev:cut]); err != nil {
			return err
		}
		prev = cut
	}
	return sw.piece(b[prev:])
}

func (sw *streamWriter) piece(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	abort := false
	if sw.limit > 0 && sw.n+len(p) >= sw.limit {
		p = p[:sw.limit-sw.n]
		abort = true
	}
	if _, err := sw.out.Write(p); err != nil {
		return err
	}
	sw.n += len(p)
	if sw.gz != nil {
		if err := sw.gz.Flush(); err != nil {
			return err
		}
	}
	if err := sw.rc.Flush(); err != nil && !isNotSupported(err) {
		return err
	}
	if abort {
		// Drop the connection mid-element: net/http closes it without the
		// terminating chunk, so the client sees an unexpected EOF.
		panic(http.ErrAbortHandler)
	}
	return nil
}

func isNotSupported(err error) bool { return errors.Is(err, http.ErrNotSupported) }

// splitPoints picks 1-4 random cut offsets inside b, one of them inside a
// multi-byte UTF-8 character whenever b has one, because that is what
// breaks clients that decode text per network read.
func splitPoints(rng *rand.Rand, b []byte) []int {
	if len(b) < 2 {
		return nil
	}
	var cuts []int
	var multi []int
	for i := 0; i < len(b); {
		_, size := utf8.DecodeRune(b[i:])
		if size > 1 {
			multi = append(multi, i)
		}
		i += size
	}
	if len(multi) > 0 {
		at := multi[rng.IntN(len(multi))]
		_, size := utf8.DecodeRune(b[at:])
		cuts = append(cuts, at+1+rng.IntN(size-1))
	}
	for range 1 + rng.IntN(3) {
		cuts = append(cuts, 1+rng.IntN(len(b)-1))
	}
	slices.Sort(cuts)
	return slices.Compact(cuts)
}

// getGzip reuses compressors: a fresh one costs hundreds of KiB, which
// adds up over a thousand concurrent streams.
func (s *Server) getGzip(w io.Writer) *gzip.Writer {
	if gz, ok := s.gzPool.Get().(*gzip.Writer); ok {
		gz.Reset(w)
		return gz
	}
	gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	return gz
}
