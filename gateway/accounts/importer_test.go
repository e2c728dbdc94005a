package accounts

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// Invented credentials in the shape of real ones.
const (
	ses1 = "CSE.AXUaAjfRn8qkL2v9_ZpT4wEo7hYdGmXcB1sN3uKf6QiJrVtWlOyHaPeDg5M0bCxS"
	cos1 = "COS.AFQtZ9kXw2mPn7RbL4vCdE8sJhYgUoTi1aKf3Nq6WxMr"
	idx1 = "2026259595"
	cid1 = "5f2b8c1e-93a4-4d7f-b2e6-0c9a1d3e7f48"

	ses2 = "CSE.AXUaBk29LmQwErTy_UiOp7AsDfGhJkL3ZxCvBnM1qWeRtYuIoPa8SdFgHjKl4"
	cos2 = "COS.AFQtYh3JkL9mNb2VcX7zAsDfGhJ4kLqWeRtYuIo1PaSd"
	idx2 = "1873904512"
	cid2 = "a71c04d9-2e5b-4f8a-9c3d-6b1e0f2a7d95"

	ses3 = "CSE.AXUaCq7Wd1Fz0Jp8_NmK2bVrXy5TuHgLe6AiOsQc9PwZjRnBvYtMkDhEf3GlU4x"
	idx3 = "3301977264"
	cid3 = "0b9e6f3a-71c2-4d5e-8f04-29a6b3c1d7e8"

	nid = "511=Q9v2kR_4mTzXwYp1LbNc8DsEfGhJ0"
)

// secretValues are every secret the cases contain; no problem message may
// hold one of them.
var secretValues = []string{ses1, cos1, idx1, ses2, cos2, idx2, ses3, idx3, nid}

func pageURL1() string { return "https://business.gemini.google/home/cid/" + cid1 + "?csesidx=" + idx1 }
func pageURL2() string { return "https://business.gemini.google/home/cid/" + cid2 + "?csesidx=" + idx2 }

// fakeJWT is a token shaped like the one widget requests carry, with the
// csesidx in its subject.
func fakeJWT(csesidx string) string {
	enc := base64.RawURLEncoding.EncodeToString
	h := enc([]byte(`{"alg":"HS256","typ":"JWT","kid":"AIk0-Uq8xw"}`))
	p := enc([]byte(`{"iss":"https://business.gemini.google","aud":"https://biz-discoveryengine.googleapis.com","sub":"csesidx/` + csesidx + `","iat":1767225600,"exp":1767225900,"nbf":1767225600}`))
	return h + "." + p + ".c2lnbmF0dXJlLW5vdC1jaGVja2Vk"
}

func widgetBody(cid string) string {
	return `{"configId":"` + cid + `","additionalParams":{"token":"-"},"streamAssistRequest":{"session":"collections/default_collection/engines/agentspace-engine/sessions/18399586466940005660","query":{"parts":[{"text":"it's a test"}]},"filter":"","fileIds":[],"answerGenerationMode":"NORMAL","assistSkippingMode":"REQUEST_ASSIST","languageCode":"en-US"}}`
}

// bashQuote quotes like Chrome's "Copy as cURL (bash)": '…', or $'…' when
// the value holds a quote or a control character.
func bashQuote(s string) string {
	if !strings.ContainsAny(s, "'\n\r\t") {
		return "'" + s + "'"
	}
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return "$'" + r.Replace(s) + "'"
}

var winSpecial = regexp.MustCompile("[^a-zA-Z0-9\\s_\\-:=+~'/.',?;()*`]")
var winPercent = regexp.MustCompile(`%([a-zA-Z0-9_])`)

// winQuote quotes like Chrome's "Copy as cURL (cmd)".
func winQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	s = winSpecial.ReplaceAllString(s, "^$0")
	s = winPercent.ReplaceAllString(s, "%^$1")
	s = strings.ReplaceAll(s, "\n", "^\n\n")
	return `^"` + s + `^"`
}

// curlCmd writes a command as DevTools does, one option per line.
func curlCmd(q func(string) string, cont string, url string, opts ...string) string {
	var b strings.Builder
	b.WriteString("curl " + q(url))
	for i := 0; i+1 < len(opts); i += 2 {
		b.WriteString(" " + cont + "\n  " + opts[i] + " " + q(opts[i+1]))
	}
	return b.String()
}

func bashCurl(url string, opts ...string) string { return curlCmd(bashQuote, `\`, url, opts...) }
func cmdCurl(url string, opts ...string) string  { return curlCmd(winQuote, "^", url, opts...) }

const ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36"

func getoxsrf(idx string) string {
	return "https://business.gemini.google/auth/getoxsrf?csesidx=" + idx
}

const streamURL = "https://biz-discoveryengine.googleapis.com/v1alpha/locations/global/widgetStreamAssist"

func acct(name, ses, cos, idx, cid string) Input {
	return Input{Name: name, SecureCSES: ses, HostCOSES: cos, CSESIDX: idx, ConfigID: cid}
}

type wantProblem struct {
	item int
	has  string
}

func TestParseImport(t *testing.T) {
	f := false
	tr := true
	inactive := func(in Input) Input { in.IsActive = &f; return in }
	active := func(in Input) Input { in.IsActive = &tr; return in }
	withUA := func(in Input) Input { in.UserAgent = ua; return in }

	cases := []struct {
		name     string
		text     string
		format   ImportFormat
		want     []Input
		problems []wantProblem
	}{
		// ---- JSON
		{
			name:   "json/product export",
			format: FormatJSON,
			text: `[
  {"id": 1, "name": "work", "config_id": "` + cid1 + `", "is_active": true,
   "secure_c_ses": "` + ses1 + `", "host_c_oses": "` + cos1 + `", "csesidx": "` + idx1 + `"},
  {"id": 2, "name": "spare", "config_id": "` + strings.ToUpper(cid2) + `", "is_active": false,
   "secure_c_ses": "` + ses2 + `", "csesidx": "` + idx2 + `"}
]`,
			want: []Input{active(acct("work", ses1, cos1, idx1, cid1)), inactive(acct("spare", ses2, "", idx2, cid2))},
		},
		{
			name:   "json/python gateway object with accounts, numeric csesidx, team_id, string is_active",
			format: FormatJSON,
			text: `{"accounts": [{"team_id": "` + cid1 + `", "secure_c_ses": "` + ses1 + `", "host_c_oses": "` + cos1 +
				`", "csesidx": ` + idx1 + `, "user_agent": "` + ua + `", "is_active": "false", "request_count": 12}],
 "models": [], "proxy": ""}`,
			want: []Input{withUA(inactive(acct("", ses1, cos1, idx1, cid1)))},
		},
		{
			name:   "json/single object with cookie names as keys",
			format: FormatJSON,
			text:   `{"__Secure-C_SES": "` + ses1 + `", "__Host-C_OSES": "` + cos1 + `", "csesidx": "` + idx1 + `", "configId": "` + cid1 + `", "email": "me@example.com"}`,
			want:   []Input{acct("me@example.com", ses1, cos1, idx1, cid1)},
		},
		{
			name:   "json/camel case, group_id, enabled as number",
			format: FormatJSON,
			text:   `[{"secureCSes": "` + ses2 + `", "hostCOses": "` + cos2 + `", "csesIdx": "` + idx2 + `", "groupId": "` + cid2 + `", "enabled": 0}]`,
			want:   []Input{inactive(acct("", ses2, cos2, idx2, cid2))},
		},
		{
			name:   "json/lines",
			format: FormatJSON,
			text: `{"secure_c_ses":"` + ses1 + `","csesidx":"` + idx1 + `","config_id":"` + cid1 + `"}
{"secure_c_ses":"` + ses2 + `","csesidx":"` + idx2 + `","config_id":"` + cid2 + `","disabled":true}`,
			want: []Input{acct("", ses1, "", idx1, cid1), inactive(acct("", ses2, "", idx2, cid2))},
		},
		{
			name:   "json/cookie header and url fields",
			format: FormatJSON,
			text:   `[{"name":"from tool","cookie":"__Secure-C_SES=` + ses1 + `; __Host-C_OSES=` + cos1 + `; NID=` + nid + `","url":"` + pageURL1() + `"}]`,
			want:   []Input{acct("from tool", ses1, cos1, idx1, cid1)},
		},
		{
			name:     "json/export without secrets",
			format:   FormatJSON,
			text:     `[{"id":1,"name":"work","config_id":"` + cid1 + `","is_active":true}]`,
			problems: []wantProblem{{1, "secure_c_ses, csesidx: missing: this looks like an export made without secrets"}},
		},
		{
			name:   "json/bad items",
			format: FormatJSON,
			text: `[{"secure_c_ses":"` + ses1 + `","csesidx":"` + idx1 + `","config_id":"` + cid1 + `"},
 {"secure_c_ses":"` + ses2 + `","csesidx":"idx-` + idx2 + `","config_id":"` + cid2 + `"},
 "` + ses3 + `",
 {"secure_c_ses":"` + ses3 + `","csesidx":"` + idx3 + `","config_id":"` + cid3 + `","is_active":"maybe"},
 {"secure_c_ses":"` + ses2 + `","csesidx":"` + idx2 + `","config_id":"not-a-uuid"},
 {"secure_c_ses":"` + ses2 + `","csesidx":"` + idx1 + `","config_id":"` + cid1 + `"},
 {"secure_c_ses":{"v":1},"csesidx":"` + idx3 + `","config_id":"` + cid3 + `"}]`,
			want: []Input{acct("", ses1, "", idx1, cid1)},
			problems: []wantProblem{
				{2, "csesidx: must be a number"},
				{3, "not a JSON object"},
				{4, "is_active: must be true or false"},
				{5, "config_id: must be a UUID"},
				{6, "same csesidx and config_id as item 1"},
				{7, "secure_c_ses: must be text"},
			},
		},
		{
			name:     "json/missing fields",
			format:   FormatJSON,
			text:     `{"name":"x","secure_c_ses":"` + ses1 + `","team_id":""}`,
			problems: []wantProblem{{1, `config_id: missing: set "config_id"`}, {1, `csesidx: missing: set "csesidx"`}},
		},
		{
			name:     "json/syntax error",
			format:   FormatJSON,
			text:     "[\n  {\"secure_c_ses\": \"" + ses1 + "\" \"csesidx\": \"" + idx1 + "\"}\n]",
			problems: []wantProblem{{0, "not valid JSON (error at line 2"}},
		},
		{
			name:     "json/truncated",
			format:   FormatJSON,
			text:     `[{"secure_c_ses": "` + ses1,
			problems: []wantProblem{{0, "ends too early"}},
		},
		{
			name:   "json/cookie editor export",
			format: FormatJSON,
			text: `[{"domain":".business.gemini.google","name":"__Secure-C_SES","value":"` + ses1 + `","path":"/","secure":true},
 {"domain":"business.gemini.google","hostOnly":true,"name":"__Host-C_OSES","value":"` + cos1 + `","path":"/"}]`,
			problems: []wantProblem{{0, "browser cookie export"}},
		},
		{
			name:     "json/HAR",
			format:   FormatJSON,
			text:     `{"log":{"version":"1.2","entries":[{"request":{"url":"` + getoxsrf(idx1) + `"}}]}}`,
			problems: []wantProblem{{0, "HAR file"}},
		},
		{
			name:     "json/no accounts",
			format:   FormatJSON,
			text:     `{"port": 7860, "api_key": "sk-local"}`,
			problems: []wantProblem{{0, "holds no accounts"}},
		},

		// ---- .env
		{
			name:   "env/single block with export, quotes and comments",
			format: FormatEnv,
			text: `# Gemini Business
export SECURE_C_SES="` + ses1 + `"
export HOST_C_OSES='` + cos1 + `'
CSESIDX=` + idx1 + `   # from the address bar
CONFIG_ID = ` + cid1 + `
NAME=work
PORT=7860
`,
			want: []Input{acct("work", ses1, cos1, idx1, cid1)},
		},
		{
			name:   "env/saved on Windows (BOM, CRLF)",
			format: FormatEnv,
			text:   "\uFEFFSECURE_C_SES=" + ses1 + "\r\nHOST_C_OSES=" + cos1 + "\r\nCSESIDX=" + idx1 + "\r\nCONFIG_ID=" + cid1 + "\r\n",
			want:   []Input{acct("", ses1, cos1, idx1, cid1)},
		},
		{
			name:   "env/numbered suffix",
			format: FormatEnv,
			text: "SECURE_C_SES_1=" + ses1 + "\nCSESIDX_1=" + idx1 + "\nCONFIG_ID_1=" + cid1 + "\nACCOUNT_NAME_1=first\n" +
				"SECURE_C_SES_2=" + ses2 + "\nHOST_C_OSES_2=" + cos2 + "\nCSESIDX_2=" + idx2 + "\nTEAM_ID_2=" + cid2 + "\n",
			want: []Input{acct("first", ses1, "", idx1, cid1), acct("", ses2, cos2, idx2, cid2)},
		},
		{
			name:   "env/numbered prefix, interleaved",
			format: FormatEnv,
			text: "ACCOUNT1_SECURE_C_SES=" + ses1 + "\nACCOUNT2_SECURE_C_SES=" + ses2 + "\nACCOUNT1_CSESIDX=" + idx1 +
				"\nACCOUNT2_CSESIDX=" + idx2 + "\nACCOUNT1_CONFIG_ID=" + cid1 + "\nACCOUNT2_CONFIG_ID=" + cid2 + "\nACCOUNT2_NAME=two\n",
			want: []Input{acct("", ses1, "", idx1, cid1), acct("two", ses2, "", idx2, cid2)},
		},
		{
			name:   "env/blocks named by comments",
			format: FormatEnv,
			text: "# work\nSECURE_C_SES=" + ses1 + "\nHOST_C_OSES=" + cos1 + "\nCSESIDX=" + idx1 + "\nCONFIG_ID=" + cid1 +
				"\n\n# personal\nSECURE_C_SES=" + ses2 + "\nCSESIDX=" + idx2 + "\nCONFIG_ID=" + cid2 + "\n",
			want: []Input{acct("work", ses1, cos1, idx1, cid1), acct("personal", ses2, "", idx2, cid2)},
		},
		{
			name:   "env/repeated key starts the next account",
			format: FormatEnv,
			text: "SECURE_C_SES=" + ses1 + "\nCSESIDX=" + idx1 + "\nCONFIG_ID=" + cid1 +
				"\nSECURE_C_SES=" + ses2 + "\nCSESIDX=" + idx2 + "\nCONFIG_ID=" + cid2 + "\n",
			want: []Input{acct("", ses1, "", idx1, cid1), acct("", ses2, "", idx2, cid2)},
		},
		{
			name:   "env/blank line inside one account",
			format: FormatEnv,
			text:   "SECURE_C_SES=" + ses1 + "\nHOST_C_OSES=" + cos1 + "\n\nCSESIDX=" + idx1 + "\nCONFIG_ID=" + cid1 + "\n",
			want:   []Input{acct("", ses1, cos1, idx1, cid1)},
		},
		{
			name:   "env/second block's optional key stays with it",
			format: FormatEnv,
			text: "SECURE_C_SES=" + ses1 + "\nCSESIDX=" + idx1 + "\nCONFIG_ID=" + cid1 +
				"\n\nHOST_C_OSES=" + cos2 + "\nSECURE_C_SES=" + ses2 + "\nCSESIDX=" + idx2 + "\nCONFIG_ID=" + cid2 + "\n",
			want: []Input{acct("", ses1, "", idx1, cid1), acct("", ses2, cos2, idx2, cid2)},
		},
		{
			name:   "env/cookie names as keys and the address bar",
			format: FormatEnv,
			text:   "__Secure-C_SES=" + ses1 + "\n__Host-C_OSES=" + cos1 + "\n" + pageURL1() + "\n",
			want:   []Input{acct("", ses1, cos1, idx1, cid1)},
		},
		{
			name:   "env/ini sections and powershell",
			format: FormatEnv,
			text: "[main]\n$env:SECURE_C_SES = \"" + ses1 + "\"\n$env:CSESIDX = \"" + idx1 + "\"\n$env:CONFIG_ID = \"" + cid1 + "\"\n" +
				"[backup]\nset SECURE_C_SES=" + ses2 + "\nset CSESIDX=" + idx2 + "\nset CONFIG_ID=" + cid2 + "\n",
			want: []Input{acct("main", ses1, "", idx1, cid1), acct("backup", ses2, "", idx2, cid2)},
		},
		{
			name:   "env/missing and invalid",
			format: FormatEnv,
			text: "SECURE_C_SES_1=" + ses1 + "\nCSESIDX_1=" + idx1 + "\n" +
				"SECURE_C_SES_2=" + ses2 + "\nCSESIDX_2=#" + idx2 + "\nCONFIG_ID_2=" + cid2 + "\nCSESIDX_2=" + idx3 + "\n" +
				"see the wiki for details\n",
			problems: []wantProblem{
				{2, "CSESIDX_2 is set twice"},
				{1, "config_id: missing: add CONFIG_ID_1="},
				{2, "csesidx: must be a number"},
				{0, "ignored 1 line(s)"},
			},
		},

		// ---- cookie header + address bar
		{
			name:   "cookie/header and address bar",
			format: FormatCookie,
			text:   "Cookie: NID=" + nid + "; __Secure-C_SES=" + ses1 + "; __Host-C_OSES=" + cos1 + "; _ga=GA1.1.123\n\n" + pageURL1() + "\n",
			want:   []Input{acct("", ses1, cos1, idx1, cid1)},
		},
		{
			name:   "cookie/lower-case prefix, URL with a session path",
			format: FormatCookie,
			text: "https://business.gemini.google/home/cid/" + cid2 + "/r/session/18399586466940005660?hl=en&csesidx=" + idx2 +
				"\ncookie: __Host-C_OSES=" + cos2 + "; __Secure-C_SES=" + ses2,
			want: []Input{acct("", ses2, cos2, idx2, cid2)},
		},
		{
			name:   "cookie/bare header, address without scheme, typed name",
			format: FormatCookie,
			text:   "__Secure-C_SES=" + ses1 + "; __Host-C_OSES=" + cos1 + "\nbusiness.gemini.google/home/cid/" + cid1 + "?csesidx=" + idx1 + "\nname=laptop\n",
			want:   []Input{acct("laptop", ses1, cos1, idx1, cid1)},
		},
		{
			name:   "cookie/two accounts in order",
			format: FormatCookie,
			text: "Cookie: __Secure-C_SES=" + ses1 + "; __Host-C_OSES=" + cos1 + "\n" + pageURL1() + "\n\n" +
				"Cookie: __Secure-C_SES=" + ses2 + "; __Host-C_OSES=" + cos2 + "\n" + pageURL2() + "\n",
			want: []Input{acct("", ses1, cos1, idx1, cid1), acct("", ses2, cos2, idx2, cid2)},
		},
		{
			name:     "cookie/no address",
			format:   FormatCookie,
			text:     "Cookie: __Secure-C_SES=" + ses1 + "; __Host-C_OSES=" + cos1,
			problems: []wantProblem{{1, "config_id, csesidx: no Gemini Business URL found: paste the address bar too"}},
		},
		{
			name:     "cookie/no session cookie in header",
			format:   FormatCookie,
			text:     "cookie: NID=" + nid + "; __Host-C_OSES=" + cos1 + "\n" + pageURL1(),
			problems: []wantProblem{{1, "found a cookie header but no __Secure-C_SES cookie in it"}},
		},
		{
			name:     "cookie/address only",
			format:   FormatCookie,
			text:     pageURL1(),
			problems: []wantProblem{{1, "found a Gemini Business URL but no cookie header"}},
		},
		{
			name:     "cookie/address without cid",
			format:   FormatCookie,
			text:     "Cookie: __Secure-C_SES=" + ses1 + "; __Host-C_OSES=" + cos1 + "\nhttps://business.gemini.google/?csesidx=" + idx1,
			problems: []wantProblem{{1, "no Gemini Business URL with /cid/<config id> found: paste the address bar too"}},
		},
		{
			name:     "cookie/two addresses, one header",
			format:   FormatCookie,
			text:     "Cookie: __Secure-C_SES=" + ses1 + "; a=b\n" + pageURL1() + "\n" + pageURL2(),
			problems: []wantProblem{{0, "several different accounts"}},
		},
		{
			name:     "cookie/two headers, one address",
			format:   FormatCookie,
			text:     "Cookie: __Secure-C_SES=" + ses1 + "\nCookie: __Secure-C_SES=" + ses2 + "\n" + pageURL1(),
			problems: []wantProblem{{0, "found 2 different __Secure-C_SES cookies but 1 complete"}},
		},

		// ---- curl
		{
			name:   "curl/bash getoxsrf with cookie header and full referer",
			format: FormatCurl,
			text: bashCurl(getoxsrf(idx1),
				"-H", "accept: */*",
				"-H", "accept-language: en-US,en;q=0.9",
				"-H", "cookie: NID="+nid+"; __Secure-C_SES="+ses1+"; __Host-C_OSES="+cos1,
				"-H", "priority: u=1, i",
				"-H", "referer: "+pageURL1(),
				"-H", `sec-ch-ua: "Chromium";v="140", "Not=A?Brand";v="24", "Google Chrome";v="140"`,
				"-H", "user-agent: "+ua),
			want: []Input{acct("", ses1, cos1, idx1, cid1)},
		},
		{
			name:     "curl/bash getoxsrf with -b and no referer",
			format:   FormatCurl,
			text:     bashCurl(getoxsrf(idx1), "-H", "accept: */*", "-b", "__Secure-C_SES="+ses1+"; __Host-C_OSES="+cos1, "-H", "user-agent: "+ua),
			problems: []wantProblem{{1, "config_id: missing: a getoxsrf request does not contain it unless its referer is the full page address"}},
		},
		{
			name:   "curl/widgetStreamAssist alone",
			format: FormatCurl,
			text: bashCurl(streamURL,
				"-H", "authorization: Bearer "+fakeJWT(idx1),
				"-H", "content-type: application/json",
				"-H", "referer: https://business.gemini.google/",
				"--data-raw", widgetBody(cid1)),
			problems: []wantProblem{{1, "secure_c_ses: missing: a widgetStreamAssist request carries no cookies"}},
		},
		{
			name:   "curl/getoxsrf and widgetStreamAssist make one account",
			format: FormatCurl,
			text: bashCurl(getoxsrf(idx1), "-b", "__Secure-C_SES="+ses1+"; __Host-C_OSES="+cos1) + " ;\n" +
				bashCurl(streamURL, "-H", "authorization: Bearer "+fakeJWT(idx1), "--data-raw", widgetBody(cid1)),
			want: []Input{acct("", ses1, cos1, idx1, cid1)},
		},
		{
			name:   "curl/widget first, then getoxsrf",
			format: FormatCurl,
			text: bashCurl(streamURL, "-H", "authorization: Bearer "+fakeJWT(idx2), "--data-raw", widgetBody(cid2)) + "\n\n" +
				bashCurl(getoxsrf(idx2), "-H", "Cookie: __Secure-C_SES="+ses2),
			want: []Input{acct("", ses2, "", idx2, cid2)},
		},
		{
			name:   "curl/cmd getoxsrf with referer",
			format: FormatCurl,
			text: cmdCurl(getoxsrf(idx1),
				"-H", "accept: */*",
				"-b", "NID="+nid+"; __Secure-C_SES="+ses1+"; __Host-C_OSES="+cos1,
				"-H", "referer: https://business.gemini.google/home/cid/"+cid1+"/r/x?hl=en%2DUS&csesidx="+idx1,
				"-H", `sec-ch-ua: "Chromium";v="140"`,
				"-H", "user-agent: "+ua),
			want: []Input{acct("", ses1, cos1, idx1, cid1)},
		},
		{
			name:   "curl/cmd copy all: getoxsrf and widgetCreateSession",
			format: FormatCurl,
			text: cmdCurl(getoxsrf(idx2), "-H", "cookie: __Secure-C_SES="+ses2+"; __Host-C_OSES="+cos2) + " &\n" +
				cmdCurl("https://biz-discoveryengine.googleapis.com/v1alpha/locations/global/widgetCreateSession",
					"-H", "authorization: Bearer "+fakeJWT(idx2),
					"--data-raw", `{"configId":"`+cid2+`","additionalParams":{"token":"-"},"createSessionRequest":{"session":{"name":"","displayName":""}}}`),
			want: []Input{acct("", ses2, cos2, idx2, cid2)},
		},
		{
			name:   "curl/two accounts",
			format: FormatCurl,
			text: bashCurl(getoxsrf(idx1), "-H", "cookie: __Secure-C_SES="+ses1, "-H", "referer: "+pageURL1()) + " ;\n" +
				bashCurl(getoxsrf(idx2), "--cookie", "__Secure-C_SES="+ses2+"; __Host-C_OSES="+cos2, "-e", pageURL2()),
			want: []Input{acct("", ses1, "", idx1, cid1), acct("", ses2, cos2, idx2, cid2)},
		},
		{
			name:   "curl/getoxsrf and the address bar",
			format: FormatCurl,
			text:   "$ " + bashCurl(getoxsrf(idx1), "-b", "__Secure-C_SES="+ses1) + "\n\n" + pageURL1() + "\n",
			want:   []Input{acct("", ses1, "", idx1, cid1)},
		},
		{
			name:   "curl/widgetCreateSession with referer and cookie",
			format: FormatCurl,
			text: "curl -X POST 'https://biz-discoveryengine.googleapis.com/v1alpha/locations/global/widgetCreateSession' " +
				"-H 'referer: " + pageURL2() + "' -H 'Cookie: __Secure-C_SES=" + ses2 + "' " +
				`--data '{"configId":"` + cid2 + `","createSessionRequest":{}}' --compressed`,
			want: []Input{acct("", ses2, "", idx2, cid2)},
		},
		{
			name:   "curl/windows curl.exe typed by hand",
			format: FormatCurl,
			text:   `curl.exe "` + getoxsrf(idx3) + `" -H "Cookie: __Secure-C_SES=` + ses3 + `" -H "Referer: https://business.gemini.google/home/cid/` + cid3 + `?csesidx=` + idx3 + `"`,
			want:   []Input{acct("", ses3, "", idx3, cid3)},
		},
		{
			name:   "curl/static asset and getoxsrf",
			format: FormatCurl,
			text: "curl 'https://www.gstatic.com/images/branding/product/2x/gemini_48dp.png' -H 'accept: image/avif' ;\n" +
				bashCurl(getoxsrf(idx1), "-b", "__Secure-C_SES="+ses1, "-H", "referer: "+pageURL1()),
			want:     []Input{acct("", ses1, "", idx1, cid1)},
			problems: []wantProblem{{0, "ignored 1 curl command(s) that carry no account data"}},
		},
		{
			name:   "curl/copy all: page requests with the same cookie fold in",
			format: FormatCurl,
			text: bashCurl("https://business.gemini.google/home/cid/"+cid1+"/r/session/1", "-b", "__Secure-C_SES="+ses1+"; NID="+nid) + " ;\n" +
				bashCurl("https://business.gemini.google/_/AgentspaceUi/data/batchexecute?rpcids=x", "-b", "__Secure-C_SES="+ses1+"; __Host-C_OSES="+cos1) + " ;\n" +
				bashCurl(getoxsrf(idx1), "-b", "__Secure-C_SES="+ses1+"; __Host-C_OSES="+cos1, "-H", "referer: https://business.gemini.google/") + " ;\n" +
				bashCurl(streamURL, "-H", "authorization: Bearer "+fakeJWT(idx1), "--data-raw", widgetBody(cid1)),
			want: []Input{acct("", ses1, cos1, idx1, cid1)},
		},
		{
			name:     "curl/unterminated quote",
			format:   FormatCurl,
			text:     "curl '" + getoxsrf(idx1) + "' -H 'cookie: __Secure-C_SES=" + ses1,
			problems: []wantProblem{{1, "unterminated quote"}},
		},
		{
			name:     "curl/no account data",
			format:   FormatCurl,
			text:     "curl https://example.com/",
			problems: []wantProblem{{1, "the curl command carries no account data"}},
		},
		{
			name:   "curl/widget without token",
			format: FormatCurl,
			text:   bashCurl(streamURL, "-H", "referer: https://business.gemini.google/", "--data-raw", widgetBody(cid1)),
			problems: []wantProblem{
				{1, "csesidx: missing: neither the request URL, its referer nor its authorization token"},
				{1, "secure_c_ses: missing: a widgetStreamAssist request carries no cookies"},
			},
		},

		// ---- unknown
		{
			name:     "any/too large",
			format:   FormatJSON,
			text:     "[" + strings.Repeat(" ", maxImportSize) + "]",
			problems: []wantProblem{{0, "larger than 16 MiB"}},
		},
		{name: "unknown/empty", format: FormatUnknown, text: " \n\t", problems: []wantProblem{{0, "the text is empty"}}},
		{name: "unknown/bare cookie value", format: FormatUnknown, text: ses1, problems: []wantProblem{{0, "cookie value without its name"}}},
		{name: "unknown/prose", format: FormatUnknown, text: "my account is the one from yesterday", problems: []wantProblem{{0, "could not recognise the text"}}},
		{
			name:     "unknown/powershell",
			format:   FormatUnknown,
			text:     `$session = New-Object Microsoft.PowerShell.Commands.WebRequestSession` + "\n" + `Invoke-WebRequest -UseBasicParsing -Uri "` + getoxsrf(idx1) + `" -WebSession $session`,
			problems: []wantProblem{{0, "copied as PowerShell"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := DetectFormat(tc.text); got != tc.format {
				t.Errorf("DetectFormat = %q, want %q", got, tc.format)
			}
			got, problems := ParseImport(tc.text)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d accounts %v, want %d; problems %v", len(got), got, len(tc.want), problems)
			}
			for i := range got {
				if !sameInput(got[i], tc.want[i]) {
					t.Errorf("account %d = %s, want %s", i+1, dump(got[i]), dump(tc.want[i]))
				}
				if err := got[i].Validate(false); err != nil {
					t.Errorf("account %d does not validate: %v", i+1, err)
				}
			}
			if len(problems) != len(tc.problems) {
				t.Errorf("got %d problems %q, want %d", len(problems), problems, len(tc.problems))
			}
			for _, w := range tc.problems {
				found := false
				for _, p := range problems {
					if p.Item == w.item && strings.Contains(p.Message, w.has) {
						found = true
					}
				}
				if !found {
					t.Errorf("no problem {item %d, %q} in %q", w.item, w.has, problems)
				}
			}
			for _, p := range problems {
				for _, s := range secretValues {
					if strings.Contains(p.Message, s) {
						t.Errorf("problem %q contains a secret", p)
					}
				}
			}
		})
	}
}

func sameInput(a, b Input) bool {
	if (a.IsActive == nil) != (b.IsActive == nil) || a.IsActive != nil && *a.IsActive != *b.IsActive {
		return false
	}
	a.IsActive, b.IsActive = nil, nil
	return a == b
}

// dump shows all fields, which String hides on purpose.
func dump(in Input) string {
	active := "nil"
	if in.IsActive != nil {
		active = fmt.Sprint(*in.IsActive)
	}
	return fmt.Sprintf("{name %q ses %q cos %q idx %q cid %q active %s ua %q}", in.Name, in.SecureCSES, in.HostCOSES, in.CSESIDX, in.ConfigID, active, in.UserAgent)
}

func TestImportProblemString(t *testing.T) {
	if got := (ImportProblem{Item: 2, Message: "csesidx: must be a number"}).String(); got != "item 2: csesidx: must be a number" {
		t.Errorf("got %q", got)
	}
	if got := (ImportProblem{Message: "nothing to import"}).String(); got != "nothing to import" {
		t.Errorf("got %q", got)
	}
}

// TestImportShellQuoting checks the two tokenizers on the escapes DevTools
// writes.
func TestImportShellQuoting(t *testing.T) {
	// A backslash not before a quote is left out: Chrome doubles it for
	// cmd and the C runtime keeps both, so cmd cannot carry it faithfully.
	body := "{\"q\":\"it's 100% \\\"quoted\\\" ^caret & more\nline\"}"
	for _, tc := range []struct {
		name string
		cmds []shellCmd
	}{
		{"bash", splitBash(bashCurl("https://x/?a=1&b=2", "--data-raw", body))},
		{"cmd", splitCmd(cmdCurl("https://x/?a=1&b=2", "--data-raw", body))},
	} {
		if len(tc.cmds) != 1 {
			t.Fatalf("%s: %d commands: %+v", tc.name, len(tc.cmds), tc.cmds)
		}
		want := []string{"curl", "https://x/?a=1&b=2", "--data-raw", body}
		if got := tc.cmds[0].args; strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("%s: args %q, want %q", tc.name, got, want)
		}
	}
	got := splitBash(`curl "a\"b\$c" 'd'\''e' $'\x41\u00e9\101'`)
	if len(got) != 1 || strings.Join(got[0].args, "|") != `curl|a"b$c|d'e|AéA` {
		t.Errorf("bash escapes: %+v", got)
	}
}

// FuzzParseImport checks that ParseImport never panics, returns only valid
// and distinct accounts, and never puts a returned secret into a problem.
func FuzzParseImport(f *testing.F) {
	for _, s := range []string{
		`[{"name":"work","secure_c_ses":"` + ses1 + `","host_c_oses":"` + cos1 + `","csesidx":"` + idx1 + `","config_id":"` + cid1 + `","is_active":true}]`,
		`{"accounts":[{"team_id":"` + cid2 + `","secure_c_ses":"` + ses2 + `","csesidx":` + idx2 + `}]}`,
		"export SECURE_C_SES=\"" + ses1 + "\"\nCSESIDX=" + idx1 + " # x\nCONFIG_ID=" + cid1 + "\n\n# two\nSECURE_C_SES_2=" + ses2 + "\nCSESIDX_2=" + idx2 + "\nCONFIG_ID_2=" + cid2,
		"Cookie: __Secure-C_SES=" + ses1 + "; __Host-C_OSES=" + cos1 + "\n" + pageURL1(),
		bashCurl(getoxsrf(idx1), "-b", "__Secure-C_SES="+ses1, "-H", "referer: "+pageURL1()) + " ;\n" +
			bashCurl(streamURL, "-H", "authorization: Bearer "+fakeJWT(idx2), "--data-raw", widgetBody(cid2)),
		cmdCurl(getoxsrf(idx2), "-H", "cookie: __Secure-C_SES="+ses2, "--data-raw", widgetBody(cid2)) + " &\n" + pageURL2(),
		"curl $'\\x41' \"\\\"\" '", "[account]\nSECURE_C_SES=a", ses3, "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, problems := ParseImport(text)
		if len(got) == 0 && len(problems) == 0 {
			t.Fatal("no accounts and no problems")
		}
		_ = DetectFormat(text)
		seen := map[string]bool{}
		for _, in := range got {
			if err := in.Validate(false); err != nil {
				t.Fatalf("returned account does not validate: %v", err)
			}
			key := in.CSESIDX + "|" + in.ConfigID
			if seen[key] {
				t.Fatal("duplicate account returned")
			}
			seen[key] = true
		}
		for _, p := range problems {
			if p.Item < 0 || p.Message == "" {
				t.Fatalf("bad problem %+v", p)
			}
			for _, in := range got {
				for _, v := range []string{in.SecureCSES, in.HostCOSES, in.CSESIDX} {
					if leaks(p.Message, v) {
						t.Fatalf("problem %q contains a returned value", p)
					}
				}
			}
		}
	})
}

var plainWord = regexp.MustCompile(`^[a-z ]*$`)

// leaks reports whether msg contains v. Values short enough to occur in
// the fixed text by chance (a csesidx "1" in "item 1", a cookie value
// "required") cannot show a leak, so only longer ones that are not plain
// words are checked.
func leaks(msg, v string) bool {
	if len(v) < 6 || plainWord.MatchString(v) {
		return false
	}
	return strings.Contains(msg, v)
}

// TestImportEnvEscapes pins the cases where the importer once read a .env
// line differently from app.ReadDotEnv: both now read it with
// internal/dotenv.
func TestImportEnvEscapes(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`NAME="a\nb"`, "a\nb"},  // was "anb" here, a newline in ReadDotEnv
		{`NAME="a\qb"`, `a\qb`},  // was "aqb" here
		{`NAME="a\"b"`, `a"b`},   // the same in both
		{`export NAME=x`, "x"},   // export was the only prefix ReadDotEnv took
		{`set NAME=x`, "x"},      // cmd.exe
		{`$env:NAME = "x"`, "x"}, // PowerShell
	} {
		k, v, ok := parseEnvAssign(tc.line)
		if !ok || k != "NAME" || v != tc.want {
			t.Errorf("parseEnvAssign(%q) = %q, %q, %v; want NAME, %q", tc.line, k, v, ok, tc.want)
		}
	}
	// A quote left open is no assignment (it was read to the line's end).
	_, problems := ParseImport("SECURE_C_SES=\"" + ses1 + "\nCSESIDX=" + idx1 + "\nCONFIG_ID=" + cid1 + "\n")
	found := false
	for _, p := range problems {
		found = found || strings.Contains(p.Message, "ignored 1 line(s)")
	}
	if !found {
		t.Errorf("problems %q: want the open-quoted line reported as ignored", problems)
	}
}
