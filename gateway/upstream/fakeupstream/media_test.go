package fakeupstream

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func withTools(tools map[string]any) map[string]any {
	return map[string]any{"toolsSpec": tools}
}

var (
	webOnly   = map[string]any{"webGroundingSpec": map[string]any{}, "toolRegistry": "default_tool_registry"}
	imageOnly = map[string]any{"imageGenerationSpec": map[string]any{}, "toolRegistry": "default_tool_registry"}
	videoOnly = map[string]any{"videoGenerationSpec": map[string]any{}, "toolRegistry": "default_tool_registry"}
	webImage  = map[string]any{"webGroundingSpec": map[string]any{}, "imageGenerationSpec": map[string]any{}, "toolRegistry": "default_tool_registry"}
)

// A turn generates media only when its toolsSpec allows it, within the
// account's media quota.
func TestMediaFollowsToolsSpecAndQuota(t *testing.T) {
	s, c := startFake(t, Options{})
	s.UpdateAccount(DemoAccount(1).CSESIDX, func(a *Account) { a.ImageQuota = 1; a.VideoQuota = 1 })
	sess := c.createSession()
	cases := []struct {
		name, query string
		tools       map[string]any
		files       int
		answer      string
		quota       bool
	}{
		{"plain chat, web only", "hello", webOnly, 0, NormalAnswer, false},
		{"drawing asked without the image tool", "please draw a cat", webOnly, 0, NoImageToolAnswer, false},
		{"image-only spec draws any prompt", "a red fox", imageOnly, 1, "", false},
		{"image quota used up", "a blue fox", imageOnly, 0, "", true},
		{"web+image chat without a drawing request", "hello", webImage, 0, NormalAnswer, false},
		{"video", "waves", videoOnly, 1, "", false},
		{"video quota used up", "waves again", videoOnly, 0, "", true},
	}
	for _, tc := range cases {
		resp, body := c.stream(sess, tc.query, withTools(tc.tools))
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", tc.name, resp.StatusCode)
		}
		sum := summarize(t, body)
		if len(sum.files) != tc.files {
			t.Errorf("%s: %d files", tc.name, len(sum.files))
		}
		if tc.answer != "" && sum.answer != tc.answer {
			t.Errorf("%s: answer %q", tc.name, sum.answer)
		}
		if got := strings.Contains(strings.Join(sum.errorStatuses, ","), "RESOURCE_EXHAUSTED"); got != tc.quota {
			t.Errorf("%s: quota error %v (%v)", tc.name, got, sum.errorStatuses)
		}
	}
	if imgs, vids := s.MediaUsed(DemoAccount(1).CSESIDX); imgs != 1 || vids != 1 {
		t.Errorf("media used %d, %d", imgs, vids)
	}
}

// Downloads: the primary path fails as configured, both paths redirect
// to a token-free storage URL on the other host name, which refuses a
// bearer token.
func TestDownloadRedirectsAndFailures(t *testing.T) {
	s, c := startFake(t, Options{Media: MediaOptions{RedirectDownloads: true, PrimaryDownloadFailures: 1}})
	sess := c.createSession()
	_, body := c.stream(sess, "x", withTools(imageOnly))
	sum := summarize(t, body)
	if len(sum.files) != 1 {
		t.Fatalf("files %v", sum.files)
	}
	full := "projects/" + s.ProjectNumber() + "/locations/global/" + sess
	get := func(path string, follow bool) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", s.APIURL()+path+full+":downloadFile?fileId="+sum.files[0]+"&alt=media", nil)
		req.Header.Set("Authorization", "Bearer "+c.token())
		hc := c.hc
		if follow {
			hc = &http.Client{}
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp, b.Bytes()
	}
	if resp, _ := get("/v1alpha/", false); resp.StatusCode != 404 {
		t.Errorf("primary path: %d, want the configured 404", resp.StatusCode)
	}
	resp, _ := get("/download/v1alpha/", false)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 302 || !strings.Contains(loc, "/cdn/") || strings.Contains(loc, strings.TrimPrefix(s.URL(), "http://")) {
		t.Fatalf("redirect %d to %q", resp.StatusCode, loc)
	}
	// Go's client drops Authorization on a redirect to another host.
	resp, data := get("/v1alpha/", true)
	if resp.StatusCode != 200 || !bytes.HasPrefix(data, []byte("\x89PNG")) {
		t.Errorf("followed download: %d, %d bytes", resp.StatusCode, len(data))
	}
	req, _ := http.NewRequest("GET", loc, nil)
	req.Header.Set("Authorization", "Bearer x")
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 400 {
		t.Errorf("storage URL accepted a bearer token: %v %v", r, err)
	} else {
		r.Body.Close()
	}
}

func TestSessionRefusals(t *testing.T) {
	s, c := startFake(t, Options{})
	s.UpdateAccount(DemoAccount(1).CSESIDX, func(a *Account) { a.SessionRefusals = 1 })
	resp, body := c.call("widgetCreateSession", "createSessionRequest", map[string]any{})
	if resp.StatusCode != 400 || errorStatus(t, body) != "FAILED_PRECONDITION" {
		t.Fatalf("first: %d %s", resp.StatusCode, body)
	}
	if resp, _ := c.call("widgetCreateSession", "createSessionRequest", map[string]any{}); resp.StatusCode != 200 {
		t.Errorf("second: %d", resp.StatusCode)
	}
}
