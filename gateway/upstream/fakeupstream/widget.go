package fakeupstream

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	widgetPrefix       = "/v1alpha/locations/global/"
	sessionShortPrefix = "collections/default_collection/engines/agentspace-engine/sessions/"
	downloadSuffix     = ":downloadFile"
)

func shortSessionName(id string) string { return sessionShortPrefix + id }

func (s *Server) fullSessionName(id string) string {
	return "projects/" + s.projectNumber + "/locations/global/" + sessionShortPrefix + id
}

// parseSessionName accepts both the short and the projects/<n>/… form and
// returns the numeric id. A projects/ form must carry this server's
// project number: a client that invents one should fail.
func (s *Server) parseSessionName(name string) (string, bool) {
	if rest, ok := strings.CutPrefix(name, "projects/"); ok {
		proj, tail, ok := strings.Cut(rest, "/locations/global/")
		if !ok || proj != s.projectNumber {
			return "", false
		}
		name = tail
	}
	id, ok := strings.CutPrefix(name, sessionShortPrefix)
	if !ok || id == "" || strings.Trim(id, "0123456789") != "" {
		return "", false
	}
	return id, true
}

// envelope is the part shared by every widget call (docs/upstream-protocol.md, "Widget calls").
type envelope struct {
	configID string
	request  json.RawMessage // the <method>Request object
}

// widgetMethods maps the URL method to the envelope key of its request.
func widgetRequestKey(method string) (string, bool) {
	switch method {
	case "widgetCreateSession":
		return "createSessionRequest", true
	case "widgetAddContextFile":
		return "addContextFileRequest", true
	case "widgetStreamAssist":
		return "streamAssistRequest", true
	case "widgetListSessionFileMetadata":
		return "listSessionFileMetadataRequest", true
	case "widgetListSessions":
		return "listSessionsRequest", true
	case "widgetGetSession":
		return "getSessionRequest", true
	case "widgetDeleteSession":
		return "deleteSessionRequest", true
	}
	return "", false
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, path string, body []byte) {
	if token, ok := strings.CutPrefix(path, "/cdn/"); ok && r.Method == http.MethodGet {
		s.serveCDN(w, r, token)
		return
	}
	if r.Method == http.MethodGet && strings.HasSuffix(path, downloadSuffix) {
		if sess, ok := strings.CutPrefix(path, "/v1alpha/"); ok {
			if !s.downloadDetour(w, r, strings.TrimSuffix(sess, downloadSuffix), true) {
				s.serveDownload(w, r, strings.TrimSuffix(sess, downloadSuffix))
			}
			return
		}
		if sess, ok := strings.CutPrefix(path, "/download/v1alpha/"); ok {
			if !s.downloadDetour(w, r, strings.TrimSuffix(sess, downloadSuffix), false) {
				s.serveDownload(w, r, strings.TrimSuffix(sess, downloadSuffix))
			}
			return
		}
	}
	method, ok := strings.CutPrefix(path, widgetPrefix)
	if !ok {
		notFound(w, "fake upstream: no such API path "+path)
		return
	}
	reqKey, ok := widgetRequestKey(method)
	if !ok || r.Method != http.MethodPost {
		notFound(w, fmt.Sprintf("fake upstream: %s %s is not implemented", r.Method, path))
		return
	}
	if method == "widgetStreamAssist" {
		// Counted from the very start so that tests observe every handler
		// that is still running, whatever stage it is in.
		s.active.Add(1)
		defer s.active.Add(-1)
	}
	c, reason := s.authenticate(r)
	if reason != "" {
		w.Header().Set("X-Fake-Upstream-Reason", reason)
		writeRawError(w, http.StatusUnauthorized, UnauthenticatedBody)
		return
	}
	env, msg := parseEnvelope(body, reqKey)
	if msg != "" {
		badRequest(w, msg)
		return
	}
	if env.configID != c.account.ConfigID {
		// A configId of another account is an auth failure (ZQ).
		w.Header().Set("X-Fake-Upstream-Reason", "configId does not belong to the token's account")
		writeRawError(w, http.StatusUnauthorized, UnauthenticatedBody)
		return
	}
	if c.account.Banned {
		writeRawError(w, http.StatusForbidden, PermissionDeniedBody)
		return
	}
	switch method {
	case "widgetCreateSession":
		s.createSession(w, c, env.request)
	case "widgetAddContextFile":
		s.addContextFile(w, c, env.request)
	case "widgetStreamAssist":
		s.streamAssist(w, r, c, env.request)
	case "widgetListSessionFileMetadata":
		s.listFileMetadata(w, r, c, env.request)
	case "widgetListSessions":
		s.listSessions(w, c, env.request)
	case "widgetGetSession":
		s.getSession(w, c, env.request)
	case "widgetDeleteSession":
		s.deleteSession(w, c, env.request)
	}
}

// parseEnvelope validates the shared envelope and returns an error
// message for a 400 when it is malformed.
func parseEnvelope(body []byte, reqKey string) (envelope, string) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return envelope{}, "Invalid JSON payload received. " + err.Error()
	}
	var env envelope
	cfg, ok := raw["configId"]
	if !ok || json.Unmarshal(cfg, &env.configID) != nil || env.configID == "" {
		return envelope{}, "configId is required"
	}
	ap, ok := raw["additionalParams"]
	if !ok || !isJSONObject(ap) {
		return envelope{}, "additionalParams is required"
	}
	req, ok := raw[reqKey]
	if !ok || !isJSONObject(req) {
		return envelope{}, reqKey + " is required"
	}
	env.request = req
	return env, ""
}

func isJSONObject(b json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil && m != nil
}

// lookupSession finds a live session owned by the account; with s.mu held.
func (s *Server) lookupSessionLocked(name, csesidx string) *sessionState {
	id, ok := s.parseSessionName(name)
	if !ok {
		return nil
	}
	ss := s.sessions[id]
	// Another account's session is reported as missing, not forbidden, so
	// a client cannot probe which sessions exist.
	if ss == nil || ss.deleted || ss.csesidx != csesidx {
		return nil
	}
	return ss
}

func sessionNotFound(w http.ResponseWriter, name string) {
	notFound(w, fmt.Sprintf("Session %s not found.", name))
}

type sessionJSON struct {
	Name        string     `json:"name"`
	DisplayName string     `json:"displayName"`
	StartTime   string     `json:"startTime,omitempty"`
	UpdateTime  string     `json:"updateTime,omitempty"`
	Turns       []turnJSON `json:"turns,omitempty"`
}

type turnJSON struct {
	Query struct {
		Text string `json:"text"`
	} `json:"query"`
}

func sessionResource(ss *sessionState, withTurns bool) sessionJSON {
	out := sessionJSON{
		Name:        shortSessionName(ss.id),
		DisplayName: ss.displayName,
		StartTime:   ss.created.UTC().Format(time.RFC3339Nano),
		UpdateTime:  ss.updated.UTC().Format(time.RFC3339Nano),
	}
	if withTurns {
		for _, t := range ss.turns {
			var tj turnJSON
			tj.Query.Text = t.Query
			out.Turns = append(out.Turns, tj)
		}
	}
	return out
}

// createSession accepts every body variant clients send (docs/upstream-protocol.md,
// "Widget calls"): name "", "-" or
// a random id, and an empty createSessionRequest. The name sent is never
// used: the service always assigns its own.
func (s *Server) createSession(w http.ResponseWriter, c caller, req json.RawMessage) {
	if s.refuseSession(w, c) {
		return
	}
	var body struct {
		Session *struct {
			Name        string `json:"name"`
			DisplayName string `json:"displayName"`
		} `json:"session"`
	}
	if err := json.Unmarshal(req, &body); err != nil {
		badRequest(w, "Invalid createSessionRequest: "+err.Error())
		return
	}
	display := ""
	if body.Session != nil {
		display = body.Session.DisplayName
	}
	now := s.now()
	s.mu.Lock()
	id := s.randDigits(19)
	for s.sessions[id] != nil {
		id = s.randDigits(19)
	}
	s.seq++
	ss := &sessionState{
		id: id, seq: s.seq, csesidx: c.account.CSESIDX, configID: c.account.ConfigID,
		displayName: display, created: now, updated: now,
	}
	s.sessions[id] = ss
	res := sessionResource(ss, false)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"session": res})
}

func (s *Server) addContextFile(w http.ResponseWriter, c caller, req json.RawMessage) {
	var body struct {
		Name         string  `json:"name"`
		FileName     string  `json:"fileName"`
		MimeType     string  `json:"mimeType"`
		FileContents *string `json:"fileContents"`
		FileURI      string  `json:"fileUri"`
	}
	if err := json.Unmarshal(req, &body); err != nil {
		badRequest(w, "Invalid addContextFileRequest: "+err.Error())
		return
	}
	if body.FileContents == nil && body.FileURI != "" {
		// The fake has no network: a URL upload cannot be fetched, so the
		// client must fall back to sending the bytes.
		badRequest(w, "fake upstream: fileUri uploads are not supported")
		return
	}
	mt, _, err := mime.ParseMediaType(body.MimeType)
	if err != nil || !s.allowedMIME[strings.ToLower(mt)] {
		badRequest(w, "Unsupported file type: "+body.MimeType)
		return
	}
	if body.FileContents == nil || *body.FileContents == "" {
		badRequest(w, "addContextFileRequest.fileContents is required")
		return
	}
	data, err := base64.StdEncoding.Strict().DecodeString(*body.FileContents)
	if err != nil {
		badRequest(w, fmt.Sprintf("Invalid value at 'add_context_file_request.file_contents' (TYPE_BYTES), Base64 decoding failed: %v", err))
		return
	}
	now := s.now()
	s.mu.Lock()
	ss := s.lookupSessionLocked(body.Name, c.account.CSESIDX)
	if ss == nil {
		s.mu.Unlock()
		sessionNotFound(w, body.Name)
		return
	}
	f := &fileState{
		File:     File{ID: s.randHex(8), MIME: strings.ToLower(mt), Name: body.FileName, Origin: OriginUserUploaded, Data: data},
		uploaded: now,
	}
	ss.files = append(ss.files, f)
	ss.updated = now
	full := s.fullSessionName(ss.id)
	s.mu.Unlock()

	tokens := "258" // what Gemini charges for one image
	if !strings.HasPrefix(f.MIME, "image/") {
		tokens = strconv.Itoa((len(data) + 3) / 4)
	}
	writeJSON(w, map[string]any{"addContextFileResponse": map[string]any{
		"fileId": f.ID, "session": full, "tokenCount": tokens,
	}})
}

// originFilter matches the filters clients send (docs/upstream-protocol.md, "The streamed answer").
var originFilter = regexp.MustCompile(`^file_origin_type\s*=\s*"?(AI_GENERATED|USER_UPLOADED)"?$`)

type fileMetadataJSON struct {
	FileID         string `json:"fileId"`
	Session        string `json:"session"`
	Name           string `json:"name,omitempty"`
	MimeType       string `json:"mimeType"`
	DownloadURI    string `json:"downloadUri"`
	ByteSize       string `json:"byteSize"`
	UploadTime     string `json:"uploadTime"`
	FileOriginType string `json:"fileOriginType"`
}

func (s *Server) listFileMetadata(w http.ResponseWriter, r *http.Request, c caller, req json.RawMessage) {
	var body struct {
		Name   string `json:"name"`
		Filter string `json:"filter"`
	}
	if err := json.Unmarshal(req, &body); err != nil {
		badRequest(w, "Invalid listSessionFileMetadataRequest: "+err.Error())
		return
	}
	want := ""
	if f := strings.TrimSpace(body.Filter); f != "" {
		m := originFilter.FindStringSubmatch(f)
		if m == nil {
			badRequest(w, "Invalid filter: "+body.Filter)
			return
		}
		want = m[1]
	}
	s.mu.Lock()
	ss := s.lookupSessionLocked(body.Name, c.account.CSESIDX)
	if ss == nil {
		s.mu.Unlock()
		sessionNotFound(w, body.Name)
		return
	}
	full := s.fullSessionName(ss.id)
	var list []fileMetadataJSON
	for _, f := range ss.files {
		if want != "" && f.Origin != want {
			continue
		}
		list = append(list, fileMetadataJSON{
			FileID:   f.ID,
			Session:  full,
			Name:     f.Name,
			MimeType: f.MIME,
			// Deliberately not a working URL (wrong version and parameter
			// name), as LX reports of the real one; it points back at the
			// fake so that a client using it gets a loud 404, not the
			// internet.
			DownloadURI:    "http://" + r.Host + "/" + HostAPI + "/v1/" + full + ":download?file_id=" + f.ID,
			ByteSize:       strconv.Itoa(len(f.Data)),
			UploadTime:     f.uploaded.UTC().Format(time.RFC3339Nano),
			FileOriginType: f.Origin,
		})
	}
	s.mu.Unlock()
	inner := map[string]any{}
	if len(list) > 0 {
		// proto3 JSON omits an empty repeated field: clients must cope.
		inner["fileMetadata"] = list
	}
	writeJSON(w, map[string]any{"listSessionFileMetadataResponse": inner})
}

func (s *Server) listSessions(w http.ResponseWriter, c caller, req json.RawMessage) {
	var body struct {
		PageSize  int    `json:"pageSize"`
		PageToken string `json:"pageToken"`
	}
	if err := json.Unmarshal(req, &body); err != nil {
		badRequest(w, "Invalid listSessionsRequest: "+err.Error())
		return
	}
	offset := 0
	if body.PageToken != "" {
		n, err := strconv.Atoi(body.PageToken)
		if err != nil || n < 0 {
			badRequest(w, "Invalid page token")
			return
		}
		offset = n
	}
	size := body.PageSize
	if size <= 0 || size > 100 {
		size = 100
	}
	s.mu.Lock()
	var list []*sessionState
	for _, ss := range s.sessions {
		if ss.csesidx == c.account.CSESIDX && !ss.deleted {
			list = append(list, ss)
		}
	}
	// Newest first, like the web app's history ("update_time desc").
	slices.SortFunc(list, func(a, b *sessionState) int {
		if d := b.updated.Compare(a.updated); d != 0 {
			return d
		}
		return cmp.Compare(b.seq, a.seq)
	})
	inner := map[string]any{}
	var page []sessionJSON
	for i := offset; i < len(list) && len(page) < size; i++ {
		page = append(page, sessionResource(list[i], false))
	}
	if offset+len(page) < len(list) {
		inner["nextPageToken"] = strconv.Itoa(offset + len(page))
	}
	s.mu.Unlock()
	if len(page) > 0 {
		inner["sessions"] = page
	}
	writeJSON(w, map[string]any{"listSessionsResponse": inner})
}

func (s *Server) getSession(w http.ResponseWriter, c caller, req json.RawMessage) {
	var body struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(req, &body); err != nil {
		badRequest(w, "Invalid getSessionRequest: "+err.Error())
		return
	}
	s.mu.Lock()
	ss := s.lookupSessionLocked(body.Name, c.account.CSESIDX)
	if ss == nil {
		s.mu.Unlock()
		sessionNotFound(w, body.Name)
		return
	}
	res := sessionResource(ss, true)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"session": res})
}

func (s *Server) deleteSession(w http.ResponseWriter, c caller, req json.RawMessage) {
	var body struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(req, &body); err != nil {
		badRequest(w, "Invalid deleteSessionRequest: "+err.Error())
		return
	}
	s.mu.Lock()
	ss := s.lookupSessionLocked(body.Name, c.account.CSESIDX)
	if ss != nil {
		ss.deleted = true
		ss.updated = s.now()
	}
	s.mu.Unlock()
	if ss == nil {
		sessionNotFound(w, body.Name)
		return
	}
	writeJSON(w, map[string]any{})
}

// serveDownload answers both download paths clients use for generated files
// (docs/upstream-protocol.md, "The streamed answer").
func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request, sessionName string) {
	c, reason := s.authenticate(r)
	if reason != "" {
		w.Header().Set("X-Fake-Upstream-Reason", reason)
		writeRawError(w, http.StatusUnauthorized, UnauthenticatedBody)
		return
	}
	if c.account.Banned {
		writeRawError(w, http.StatusForbidden, PermissionDeniedBody)
		return
	}
	q := r.URL.Query()
	fileID := q.Get("fileId")
	if fileID == "" || q.Get("alt") != "media" {
		badRequest(w, "fileId and alt=media are required")
		return
	}
	s.mu.Lock()
	ss := s.lookupSessionLocked(sessionName, c.account.CSESIDX)
	var f *fileState
	if ss != nil {
		for _, cand := range ss.files {
			if cand.ID == fileID {
				f = cand
			}
		}
	}
	s.mu.Unlock()
	if f == nil {
		notFound(w, fmt.Sprintf("File %s not found in %s.", fileID, sessionName))
		return
	}
	s.writeDownload(w, f)
}

// writeDownload answers a file download, through either path: the bytes
// with their type, or base64 text when the file or the server asks for it.
func (s *Server) writeDownload(w http.ResponseWriter, f *fileState) {
	if f.base64DL || s.opts.DownloadBase64 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(base64.StdEncoding.EncodeToString(f.Data)))
		return
	}
	w.Header().Set("Content-Type", f.MIME)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Data)))
	_, _ = w.Write(f.Data)
}
