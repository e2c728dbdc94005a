package fakeupstream

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var shortName = regexp.MustCompile(`^collections/default_collection/engines/agentspace-engine/sessions/[1-9][0-9]{18}$`)

func TestCreateSessionBodyVariants(t *testing.T) {
	_, c := startFake(t, Options{})
	tests := []struct {
		name        string
		req         any
		wantDisplay string
	}{
		{"empty name and displayName", map[string]any{"session": map[string]any{"name": "", "displayName": ""}}, ""},
		{"dash name", map[string]any{"session": map[string]any{"name": "-"}}, ""},
		{"random 12-char id", map[string]any{"session": map[string]any{"name": "a1b2c3d4e5f6", "displayName": "a1b2c3d4e5f6"}}, "a1b2c3d4e5f6"},
		{"empty request", map[string]any{}, ""},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := c.call("widgetCreateSession", "createSessionRequest", tt.req)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var out struct {
				Session struct{ Name, DisplayName string }
			}
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatal(err)
			}
			if !shortName.MatchString(out.Session.Name) {
				t.Errorf("name %q does not have the real format", out.Session.Name)
			}
			if seen[out.Session.Name] {
				t.Errorf("name %q reused", out.Session.Name)
			}
			seen[out.Session.Name] = true
			if out.Session.DisplayName != tt.wantDisplay {
				t.Errorf("displayName = %q, want %q", out.Session.DisplayName, tt.wantDisplay)
			}
		})
	}
}

func TestSessionLifecycle(t *testing.T) {
	s, c := startFake(t, Options{})
	sess := c.createSession()
	full := "projects/" + s.ProjectNumber() + "/locations/global/" + sess

	if resp, body := c.stream(sess, "first", nil); resp.StatusCode != 200 {
		t.Fatalf("stream on new session: %d %s", resp.StatusCode, body)
	}
	if resp, body := c.stream(full, "second, by its projects/ name", nil); resp.StatusCode != 200 {
		t.Fatalf("stream on projects/ form: %d %s", resp.StatusCode, body)
	}
	resp, body := c.call("widgetGetSession", "getSessionRequest", map[string]any{"name": full})
	if resp.StatusCode != 200 || !strings.Contains(body, `"second, by its projects/ name"`) {
		t.Fatalf("getSession: %d %s", resp.StatusCode, body)
	}

	// Another account cannot see it.
	c2 := newClient(t, s, DemoAccount(2))
	c2.refresh()
	if resp, body := c2.stream(sess, "intruder", nil); resp.StatusCode != 404 || errorStatus(t, body) != "NOT_FOUND" {
		t.Fatalf("other account: %d %s, want 404 NOT_FOUND", resp.StatusCode, body)
	}
	// A made-up project number is not this server's.
	if resp, _ := c.stream("projects/1/locations/global/"+sess, "x", nil); resp.StatusCode != 404 {
		t.Fatalf("wrong project: %d, want 404", resp.StatusCode)
	}
	if resp, _ := c.stream(shortSessionName("1234567890123456789"), "x", nil); resp.StatusCode != 404 {
		t.Fatalf("unknown session: %d, want 404", resp.StatusCode)
	}

	if resp, body := c.call("widgetDeleteSession", "deleteSessionRequest", map[string]any{"name": sess}); resp.StatusCode != 200 {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	if resp, _ := c.stream(sess, "after delete", nil); resp.StatusCode != 404 {
		t.Fatalf("stream after delete: %d, want 404", resp.StatusCode)
	}
	if resp, _ := c.call("widgetDeleteSession", "deleteSessionRequest", map[string]any{"name": sess}); resp.StatusCode != 404 {
		t.Fatalf("second delete: %d, want 404", resp.StatusCode)
	}

	got := s.Sessions(c.acct.CSESIDX)
	if len(got) != 1 || !got[0].Deleted || got[0].Name != sess || got[0].FullName != full || got[0].ConfigID != c.acct.ConfigID {
		t.Fatalf("Sessions = %+v", got)
	}
	if n := len(got[0].Turns); n != 2 || got[0].Turns[0].Query != "first" {
		t.Fatalf("turns = %+v", got[0].Turns)
	}
	tr := got[0].Turns[0]
	if tr.LanguageCode != "zh-CN" || tr.TimeZone != "Asia/Shanghai" || tr.HasGenerationConfig || tr.Scenario != ScenarioNormal || len(tr.ToolsSpec) == 0 {
		t.Errorf("turn = %+v", tr)
	}
	if len(s.Sessions(DemoAccount(2).CSESIDX)) != 0 {
		t.Error("account 2 has sessions")
	}
}

func TestListSessionsPaging(t *testing.T) {
	_, c := startFake(t, Options{})
	for range 3 {
		c.createSession()
	}
	resp, body := c.call("widgetListSessions", "listSessionsRequest", map[string]any{"pageSize": 2, "orderBy": "update_time desc"})
	var out struct {
		ListSessionsResponse struct {
			Sessions      []struct{ Name string }
			NextPageToken string
		}
	}
	if err := json.Unmarshal([]byte(body), &out); resp.StatusCode != 200 || err != nil {
		t.Fatalf("%d %s %v", resp.StatusCode, body, err)
	}
	if len(out.ListSessionsResponse.Sessions) != 2 || out.ListSessionsResponse.NextPageToken == "" {
		t.Fatalf("first page = %+v", out)
	}
	_, body = c.call("widgetListSessions", "listSessionsRequest", map[string]any{"pageSize": 2, "pageToken": out.ListSessionsResponse.NextPageToken})
	out.ListSessionsResponse.Sessions, out.ListSessionsResponse.NextPageToken = nil, ""
	if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.ListSessionsResponse.Sessions) != 1 || out.ListSessionsResponse.NextPageToken != "" {
		t.Fatalf("second page = %s", body)
	}
}

func TestUploadValidation(t *testing.T) {
	_, c := startFake(t, Options{})
	sess := c.createSession()
	// Bytes whose standard base64 has '+' and '/', so that the URL-safe
	// alphabet differs.
	data := []byte{0xfb, 0xff, 0xbf, 0x00, 0x01}
	std := base64.StdEncoding.EncodeToString(data)
	tests := []struct {
		name       string
		session    string
		mime       string
		contents   string
		wantStatus int
		wantMsg    string
	}{
		{"png", sess, "image/png", std, 200, ""},
		{"mime with parameters", sess, "text/plain; charset=utf-8", std, 200, ""},
		{"unsupported mime", sess, "image/bmp", std, 400, "Unsupported file type: image/bmp"},
		{"missing mime", sess, "", std, 400, "Unsupported file type: "},
		{"data URI instead of base64", sess, "image/png", "data:image/png;base64," + std, 400, "Base64"},
		{"URL-safe base64", sess, "image/png", base64.URLEncoding.EncodeToString(data), 400, "Base64"},
		{"unpadded base64", sess, "image/png", base64.RawStdEncoding.EncodeToString(data), 400, "Base64"},
		{"empty contents", sess, "image/png", "", 400, "fileContents"},
		{"unknown session", shortSessionName("1111111111111111111"), "image/png", std, 404, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := c.call("widgetAddContextFile", "addContextFileRequest", map[string]any{
				"name": tt.session, "fileName": "upload_1.png", "mimeType": tt.mime, "fileContents": tt.contents,
			})
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantMsg != "" && !strings.Contains(body, tt.wantMsg) {
				t.Errorf("body %s does not mention %q", body, tt.wantMsg)
			}
			if tt.wantStatus == 400 && errorStatus(t, body) != "INVALID_ARGUMENT" {
				t.Errorf("body %s, want INVALID_ARGUMENT", body)
			}
			if tt.wantStatus == 200 {
				var out struct {
					AddContextFileResponse struct{ FileID, Session, TokenCount string }
				}
				if err := json.Unmarshal([]byte(body), &out); err != nil || !regexp.MustCompile(`^[0-9a-f]+$`).MatchString(out.AddContextFileResponse.FileID) || out.AddContextFileResponse.TokenCount == "" {
					t.Errorf("response %s (%v)", body, err)
				}
			}
		})
	}
}

func TestFileIDsBoundToSession(t *testing.T) {
	s, c := startFake(t, Options{})
	a, b := c.createSession(), c.createSession()
	img := []byte("\x89PNG fake bytes")
	resp, body := c.upload(a, "image/png", img)
	if resp.StatusCode != 200 {
		t.Fatal(body)
	}
	var up struct{ AddContextFileResponse struct{ FileID string } }
	_ = json.Unmarshal([]byte(body), &up)
	id := up.AddContextFileResponse.FileID

	if resp, body := c.stream(b, "look", map[string]any{"fileIds": []string{id}}); resp.StatusCode != 400 || errorStatus(t, body) != "INVALID_ARGUMENT" {
		t.Fatalf("fileId of another session: %d %s, want 400", resp.StatusCode, body)
	}
	if resp, body := c.stream(a, "look", map[string]any{"fileIds": []string{id}}); resp.StatusCode != 200 {
		t.Fatalf("own fileId: %d %s", resp.StatusCode, body)
	}
	got := s.Sessions(c.acct.CSESIDX)[0]
	if len(got.Files) != 1 || !bytes.Equal(got.Files[0].Data, img) || got.Files[0].Origin != OriginUserUploaded || got.Files[0].MIME != "image/png" {
		t.Fatalf("files = %+v", got.Files)
	}
	if len(got.Turns) != 1 || len(got.Turns[0].FileIDs) != 1 || got.Turns[0].FileIDs[0] != id {
		t.Fatalf("turns = %+v", got.Turns)
	}
}

func TestGeneratedImageMetadataAndDownload(t *testing.T) {
	for _, tt := range []struct {
		scenario string
		wantB64  bool
	}{{ScenarioImageGen, false}, {ScenarioImageGenB64, true}} {
		t.Run(tt.scenario, func(t *testing.T) {
			s, c := startFake(t, Options{})
			sess := c.createSession()
			if resp, body := c.upload(sess, "image/png", []byte("user image")); resp.StatusCode != 200 {
				t.Fatal(body)
			}
			s.QueueScenario(c.acct.CSESIDX, tt.scenario)
			resp, body := c.stream(sess, "draw a sunny sky", nil)
			if resp.StatusCode != 200 {
				t.Fatal(body)
			}
			sum := summarize(t, body)
			if sum.answer != ImageGenText || len(sum.files) != 1 {
				t.Fatalf("answer %q files %v", sum.answer, sum.files)
			}
			fileID := sum.files[0]

			meta := func(filter string) []struct{ FileID, Session, MimeType, FileOriginType, ByteSize string } {
				t.Helper()
				req := map[string]any{"name": sess}
				if filter != "" {
					req["filter"] = filter
				}
				resp, body := c.call("widgetListSessionFileMetadata", "listSessionFileMetadataRequest", req)
				if resp.StatusCode != 200 {
					t.Fatalf("metadata: %d %s", resp.StatusCode, body)
				}
				var out struct {
					ListSessionFileMetadataResponse struct {
						FileMetadata []struct{ FileID, Session, MimeType, FileOriginType, ByteSize string }
					}
				}
				if err := json.Unmarshal([]byte(body), &out); err != nil {
					t.Fatal(err)
				}
				return out.ListSessionFileMetadataResponse.FileMetadata
			}
			if got := meta(""); len(got) != 2 {
				t.Fatalf("all files: %+v", got)
			}
			if got := meta("file_origin_type = USER_UPLOADED"); len(got) != 1 || got[0].FileOriginType != OriginUserUploaded {
				t.Fatalf("uploaded: %+v", got)
			}
			gen := meta("file_origin_type = AI_GENERATED")
			if len(gen) != 1 || gen[0].FileID != fileID || gen[0].MimeType != "image/png" || !strings.HasPrefix(gen[0].Session, "projects/") {
				t.Fatalf("generated: %+v", gen)
			}
			if len(sum.sessions) == 0 || sum.sessions[0] != gen[0].Session {
				t.Errorf("sessionInfo.session %v, metadata session %q", sum.sessions, gen[0].Session)
			}
			if resp, _ := c.call("widgetListSessionFileMetadata", "listSessionFileMetadataRequest", map[string]any{"name": sess, "filter": "bogus"}); resp.StatusCode != 400 {
				t.Errorf("bogus filter: %d, want 400", resp.StatusCode)
			}

			for _, path := range []string{"/v1alpha/", "/download/v1alpha/"} {
				req, _ := http.NewRequest(http.MethodGet, s.APIURL()+path+gen[0].Session+":downloadFile?fileId="+fileID+"&alt=media", nil)
				req.Header.Set("Authorization", "Bearer "+c.token())
				resp, body := c.do(req)
				if resp.StatusCode != 200 {
					t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
				}
				data := []byte(body)
				if tt.wantB64 {
					if !strings.HasPrefix(body, "iVBORw0KGgo") {
						t.Fatalf("%s: want base64 PNG text, got %.20q", path, body)
					}
					var err error
					if data, err = base64.StdEncoding.DecodeString(body); err != nil {
						t.Fatal(err)
					}
				}
				cfg, err := png.DecodeConfig(bytes.NewReader(data))
				if err != nil || cfg.Width != ImageWidth || cfg.Height != ImageHeight {
					t.Fatalf("%s: not a %dx%d PNG: %+v %v", path, ImageWidth, ImageHeight, cfg, err)
				}
			}
			// Unknown file and missing token.
			req, _ := http.NewRequest(http.MethodGet, s.APIURL()+"/v1alpha/"+gen[0].Session+":downloadFile?fileId=nope&alt=media", nil)
			req.Header.Set("Authorization", "Bearer "+c.token())
			if resp, _ := c.do(req); resp.StatusCode != 404 {
				t.Errorf("unknown file: %d", resp.StatusCode)
			}
			req, _ = http.NewRequest(http.MethodGet, s.APIURL()+"/v1alpha/"+gen[0].Session+":downloadFile?fileId="+fileID+"&alt=media", nil)
			if resp, _ := c.do(req); resp.StatusCode != 401 {
				t.Errorf("no token: %d", resp.StatusCode)
			}
		})
	}
}

func TestEmptyMetadataOmitsList(t *testing.T) {
	_, c := startFake(t, Options{})
	sess := c.createSession()
	_, body := c.call("widgetListSessionFileMetadata", "listSessionFileMetadataRequest", map[string]any{"name": sess, "filter": "file_origin_type = AI_GENERATED"})
	if strings.Contains(body, "fileMetadata") || !strings.Contains(body, "listSessionFileMetadataResponse") {
		t.Fatalf("body %s", body)
	}
}

func TestWrongHostAndUnknownPaths(t *testing.T) {
	s, c := startFake(t, Options{})
	tests := []struct {
		name, method, url string
	}{
		{"widget call on the business host", http.MethodPost, s.BusinessURL() + "/v1alpha/locations/global/widgetCreateSession"},
		{"getoxsrf on the API host", http.MethodGet, s.APIURL() + "/auth/getoxsrf?csesidx=" + c.acct.CSESIDX},
		{"list-sessions on the business host", http.MethodGet, s.BusinessURL() + "/list-sessions"},
		{"no host prefix", http.MethodGet, s.URL() + "/auth/getoxsrf"},
		{"unimplemented widget method", http.MethodPost, s.APIURL() + "/v1alpha/locations/global/widgetListTools"},
		{"GET on a widget method", http.MethodGet, s.APIURL() + "/v1alpha/locations/global/widgetCreateSession"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, tt.url, strings.NewReader("{}"))
			req.Header.Set("Cookie", c.cookie())
			req.Header.Set("Authorization", "Bearer "+c.token())
			if resp, body := c.do(req); resp.StatusCode != 404 {
				t.Fatalf("status %d, want 404: %s", resp.StatusCode, body)
			}
		})
	}
}
